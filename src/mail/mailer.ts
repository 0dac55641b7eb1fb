import nodemailer from 'nodemailer';
import type { Config } from '../config.js';

export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
}

/** Sends mail through SMTP_URL: auto-disable notices and the events of EMAIL endpoints. */
export interface Mailer {
  /** Resolves with the SMTP server's final answer ("250 OK: queued …"); rejects when it refuses or is unreachable. */
  send(message: MailMessage): Promise<string>;
  close(): void;
}

/** Without SMTP_URL every send fails with a message that says so (an EMAIL endpoint's attempt records it). */
export function createMailer(config: Pick<Config, 'SMTP_URL' | 'HOOKLINE_MAIL_FROM'>): Mailer {
  if (!config.SMTP_URL) {
    return {
      send: async () => {
        throw new Error('no mail server is configured (set SMTP_URL)');
      },
      close: () => {},
    };
  }
  const transport = nodemailer.createTransport(
    { url: config.SMTP_URL, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 },
    { from: config.HOOKLINE_MAIL_FROM },
  );
  return {
    async send(message) {
      const info = await transport.sendMail({ to: message.to, subject: message.subject, text: message.text });
      return info.response;
    },
    close: () => transport.close(),
  };
}
