/**
 * pino JSON logs. Secrets and free-text fields are redacted by path, and any string that
 * looks like a card number (13-19 digits passing Luhn) is masked before it is written:
 * no PAN is ever logged, even when a gateway puts one where it should not.
 */
import { pino, type Logger } from 'pino';

const PAN_RE = /\b(?:\d[ -]?){12,18}\d\b/g;

/** The Luhn check digit test of a card number (digits only). */
export function luhnOk(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Masks every Luhn-valid 13-19 digit run, keeping nothing of it. */
export function maskPans(text: string): string {
  return text.replace(PAN_RE, (m) => {
    const digits = m.replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhnOk(digits) ? '[PAN]' : m;
  });
}

export function looksLikePan(text: string): boolean {
  return maskPans(text) !== text;
}

export function createLogger(level = 'info', name = 'fraud-engine'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['password', '*.password', 'sasl_password', '*.sasl_password', 'url', '*.url', 'description', '*.description', 'pan', '*.pan'],
      censor: '[redacted]',
    },
    hooks: {
      // Last line of defence for messages built from data.
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? maskPans(a) : a)) as Parameters<typeof method>);
      },
    },
  });
}
