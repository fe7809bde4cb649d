import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Gatehouse } from '../../src/context.ts';
import { deliverDueMail } from '../../src/mail/mail-worker.ts';

export const SMTP_USER = 'mailer';
export const SMTP_PASS = 's3cret-smtp-pass';

export interface ReceivedMail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  parsed: ParsedMail;
}

/**
 * A real SMTP receiver on loopback (smtp-server, with AUTH PLAIN/LOGIN and no STARTTLS), parsing what it receives
 * with mailparser. `stop()` closes it; `start()` listens again on the same port (SMTP coming back).
 */
export async function startSmtpSink(port = 0) {
  const received: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  let server: SMTPServer | undefined;
  let boundPort = port;

  async function start() {
    server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASS) return cb(null, { user: auth.username });
        return cb(new Error('Invalid username or password'));
      },
      onData(stream, session, cb) {
        simpleParser(stream)
          .then((parsed) => {
            received.push({
              to: session.envelope.rcptTo.map((r) => r.address).join(','),
              from: parsed.from?.text ?? '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              parsed,
            });
            for (const w of waiters.splice(0)) w();
            cb();
          })
          .catch((err: Error) => cb(err));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(boundPort, '127.0.0.1', () => resolve());
    });
    boundPort = (server.server.address() as AddressInfo).port;
  }

  await start();
  return {
    received,
    get port() {
      return boundPort;
    },
    get url() {
      return `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${boundPort}`;
    },
    start,
    async stop() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    /** The messages to an address, oldest first. */
    to(address: string): ReceivedMail[] {
      return received.filter((m) => m.to.split(',').includes(address));
    },
    /** Waits until `n` messages in all have arrived. */
    async waitForCount(n: number, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} mails, got ${received.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;

/** The `token=` value of the link in a mail's plain text. */
export function tokenFromMail(m: Pick<ReceivedMail, 'text'>): string {
  const match = /[?&]token=([A-Za-z0-9_%-]+)/.exec(m.text);
  if (!match) throw new Error(`no token link in mail: ${m.text}`);
  return decodeURIComponent(match[1]!);
}

/** The 6-digit code in a mail's plain text. */
export function codeFromMail(m: Pick<ReceivedMail, 'text'>): string {
  const match = /^(\d{6})$/m.exec(m.text);
  if (!match) throw new Error(`no code in mail: ${m.text}`);
  return match[1]!;
}

/**
 * Runs the mail worker once and returns the newest message to `address` that arrived in this run (throws when none
 * did): how the flow tests read a link or code out of the mail the server really sent.
 */
export async function deliverAndRead(gh: Gatehouse, sink: SmtpSink, address: string): Promise<ReceivedMail> {
  const before = sink.to(address).length;
  // sendMail resolves once the receiver has acknowledged the data, which it does after parsing and storing it.
  const run = await deliverDueMail(gh);
  const mails = sink.to(address);
  if (mails.length <= before) throw new Error(`no new mail to ${address} (worker run: ${JSON.stringify(run)})`);
  return mails[mails.length - 1]!;
}

/** Runs the mail worker once and asserts nothing reached `address`. */
export async function expectNoMail(gh: Gatehouse, sink: SmtpSink, address: string): Promise<void> {
  const before = sink.to(address).length;
  await deliverDueMail(gh);
  if (sink.to(address).length !== before) throw new Error(`unexpected mail to ${address}: ${sink.to(address).at(-1)!.subject}`);
}
