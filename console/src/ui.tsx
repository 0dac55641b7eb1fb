import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { describe } from './errors.js';
import { formatInstant } from './format.js';

export function Page({ title, subtitle, actions, children }: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
}) {
  return (
    <main className="page">
      <header className="page-header">
        <div>
          <h1>{title}</h1>
          {subtitle && <p className="subtitle">{subtitle}</p>}
        </div>
        {actions && <div className="actions">{actions}</div>}
      </header>
      {children}
    </main>
  );
}

export function Section({ title, actions, children }: { title: ReactNode; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="section">
      <header className="section-header">
        <h2>{title}</h2>
        {actions && <div className="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

const STATUS_TONE: Record<string, string> = {
  SUCCEEDED: 'good',
  ACTIVE: 'good',
  FAILED: 'bad',
  TOO_MANY_ERRORS: 'bad',
  RETRYING: 'warn',
  PENDING: 'info',
  SENDING: 'info',
  CANCELLED: 'muted',
  STOPPED: 'muted',
};

/** A delivery status or an object state, coloured by what it means. */
export function Badge({ value }: { value: string }) {
  return (
    <span className={`badge ${STATUS_TONE[value] ?? 'muted'}`} data-value={value}>
      {value.replaceAll('_', ' ').toLowerCase()}
    </span>
  );
}

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <time dateTime={value} title={new Date(value).toString()}>
      {formatInstant(value)}
    </time>
  );
}

export function ErrorNotice({ error, messages }: { error?: CombinedError; messages?: string[] }) {
  const text = [...(messages ?? []), ...(error ? [describe(error)] : [])].filter(Boolean);
  if (!text.length) return null;
  return (
    <div className="notice error" role="alert">
      {text.map((line) => (
        <p key={line}>{line}</p>
      ))}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Loading() {
  return <div className="loading">Loading…</div>;
}

/** A labelled form control with its hint and, when the server refused the value, the reason right below it. */
export function Field({ label, hint, error, children, wide }: {
  label: string;
  hint?: ReactNode;
  error?: string;
  children: (id: string) => ReactNode;
  wide?: boolean;
}) {
  const id = useId();
  return (
    <div className={`field${error ? ' invalid' : ''}${wide ? ' wide' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children(id)}
      <FieldNote error={error} hint={hint} />
    </div>
  );
}

/** Under a form control: its error if it has one, otherwise its hint. */
function FieldNote({ error, hint }: { error?: string; hint?: ReactNode }) {
  return error ? (
    <p className="field-error" role="alert">
      {error}
    </p>
  ) : (
    <>{hint && <p className="hint">{hint}</p>}</>
  );
}

export interface Pair {
  key: string;
  value: string;
}

export function KeyValueEditor({ label, item = label.toLowerCase().replace(/s$/, ''), value, onChange, error, keyPlaceholder = 'name', valuePlaceholder = 'value', hint }: {
  label: string;
  /** What one row is called, for "+ Add <item>". */
  item?: string;
  value: Pair[];
  onChange(value: Pair[]): void;
  error?: string;
  keyPlaceholder?: string;
  valuePlaceholder?: string;
  hint?: ReactNode;
}) {
  const set = (index: number, pair: Partial<Pair>) => onChange(value.map((p, i) => (i === index ? { ...p, ...pair } : p)));
  return (
    <fieldset className={`field kv${error ? ' invalid' : ''}`}>
      <legend>{label}</legend>
      {value.map((pair, index) => (
        <div className="kv-row" key={index}>
          <input
            aria-label={`${label} ${index + 1} ${keyPlaceholder}`}
            placeholder={keyPlaceholder}
            value={pair.key}
            onChange={(e) => set(index, { key: e.target.value })}
          />
          <input
            aria-label={`${label} ${index + 1} ${valuePlaceholder}`}
            placeholder={valuePlaceholder}
            value={pair.value}
            onChange={(e) => set(index, { value: e.target.value })}
          />
          <button
            type="button"
            className="icon"
            title="Remove"
            aria-label={`Remove ${label} ${index + 1}`}
            onClick={() => onChange(value.filter((_, i) => i !== index))}
          >
            ×
          </button>
        </div>
      ))}
      <button type="button" className="link" onClick={() => onChange([...value, { key: '', value: '' }])}>
        + Add {item}
      </button>
      <FieldNote error={error} hint={hint} />
    </fieldset>
  );
}

/** A modal dialog (the platform's <dialog>): Escape or Cancel closes it. */
export function Dialog({ open, title, onClose, children, footer }: {
  open: boolean;
  title: ReactNode;
  onClose(): void;
  children: ReactNode;
  footer: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (open && dialog && !dialog.open) dialog.showModal();
    if (!open && dialog?.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby={open ? 'dialog-title' : undefined}>
      {open && (
        <>
          <h2 id="dialog-title">{title}</h2>
          <div className="dialog-body">{children}</div>
          <footer className="dialog-footer">{footer}</footer>
        </>
      )}
    </dialog>
  );
}

/** Asks before doing something that cannot be undone; shows why it failed, if it does. */
export function ConfirmDialog({ open, title, children, confirmLabel, danger, onConfirm, onClose }: {
  open: boolean;
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm(): Promise<CombinedError | undefined>;
  onClose(): void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<CombinedError>();
  useEffect(() => setError(undefined), [open]);
  const confirm = async () => {
    setBusy(true);
    const failure = await onConfirm();
    setBusy(false);
    if (failure) setError(failure);
    else onClose();
  };
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onClose}
      footer={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className={danger ? 'danger' : 'primary'} disabled={busy} onClick={confirm}>
            {confirmLabel}
          </button>
        </>
      }
    >
      {children}
      <ErrorNotice error={error} />
    </Dialog>
  );
}

function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // No clipboard (an insecure origin): the text is selectable beside the button.
    }
  };
  return (
    <button type="button" onClick={copy}>
      {copied ? 'Copied' : label}
    </button>
  );
}

/**
 * `value`, once it has stayed the same for `ms`: a search or a live preview asks the server once typing pauses.
 * Compared as JSON, so that an object made anew on each render with the same content counts as unchanged.
 */
export function useSettled<T>(value: T, ms: number): T {
  const key = JSON.stringify(value);
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [key, ms]);
  return settled;
}

/** A detail page whose object is not there (yet): loading, the query's error, or none the token may see. */
export function MissingPage({ title, result }: { title: string; result: { fetching: boolean; error?: CombinedError } }) {
  return (
    <Page title={title}>
      <ErrorNotice error={result.error} />
      {result.fetching ? <Loading /> : <Empty>No {title.toLowerCase()} with this id (or not one your token may see).</Empty>}
    </Page>
  );
}

/** A secret shown this one time (it cannot be read again), with a copy button; `onHide` adds a Hide button. */
export function ShownOnce({ title, value, testId, onHide, children }: {
  title: string;
  value: string;
  testId: string;
  onHide?: () => void;
  /** More about the value, after "shown only this once." */
  children?: ReactNode;
}) {
  return (
    <div className="notice secret" role="status">
      <p>
        <strong>{title}</strong> Store it now: it is shown only this once.{children && <> {children}</>}
      </p>
      <div className="secret-row">
        <code className="mono" data-testid={testId}>
          {value}
        </code>
        <CopyButton text={value} />
        {onHide && (
          <button type="button" className="link" onClick={onHide}>
            Hide
          </button>
        )}
      </div>
    </div>
  );
}

export function Json({ value }: { value: unknown }) {
  if (value == null) return <span className="muted">—</span>;
  return <pre className="code">{JSON.stringify(value, null, 2)}</pre>;
}

export function KeyValues({ pairs }: { pairs: readonly Pair[] | null | undefined }) {
  if (!pairs?.length) return <span className="muted">none</span>;
  return (
    <dl className="kv-list">
      {pairs.map((pair, index) => (
        <div key={index}>
          <dt>{pair.key}</dt>
          <dd>{pair.value}</dd>
        </div>
      ))}
    </dl>
  );
}
