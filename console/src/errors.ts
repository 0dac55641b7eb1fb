import type { CombinedError } from 'urql';

/** Messages by input path (`input.endpoints[0].url`), from the `extensions.field` of BAD_USER_INPUT errors. */
export type FieldErrors = Record<string, string>;

export interface SplitErrors {
  fields: FieldErrors;
  /** Everything not tied to a field: shown above the form. */
  general: string[];
}

export function splitErrors(error: CombinedError | undefined): SplitErrors {
  const result: SplitErrors = { fields: {}, general: [] };
  if (!error) return result;
  if (error.networkError) result.general.push(`Hookline did not answer: ${error.networkError.message}`);
  for (const e of error.graphQLErrors) {
    const field = e.extensions?.field;
    if (e.extensions?.code === 'BAD_USER_INPUT' && typeof field === 'string') {
      result.fields[field] = e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
    } else {
      result.general.push(e.message);
    }
  }
  return result;
}

/** The message for `path` or for anything inside it (`headers` shows the error of `headers[1].key`). */
export function errorAt(errors: FieldErrors, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const inner = Object.keys(errors).find((key) => key.startsWith(`${path}.`) || key.startsWith(`${path}[`));
  return inner && `${inner.slice(path.length).replace(/^\./, '')}: ${errors[inner]}`;
}

/** One line for an error banner. */
export function describe(error: CombinedError): string {
  const { fields, general } = splitErrors(error);
  return [...general, ...Object.entries(fields).map(([field, message]) => `${field}: ${message}`)].join(' · ');
}
