/**
 * pino JSON logs. Secrets and free-text fields are redacted by path, and every string of every
 * line (nested objects, arrays, keys, Error messages and stacks, child bindings, the message and
 * its format parameters) goes through the card-number masking of src/security/pan.ts before it
 * is written: no PAN is ever logged, even when a gateway puts one where it should not.
 */
import {
  pino,
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type Logger,
  type LoggerOptions,
} from 'pino';
import { maskDeep } from '../security/mask-deep.js';
import { maskPans } from '../security/pan.js';

const maskMessage = (m: unknown): unknown => (typeof m === 'string' ? maskPans(m) : maskDeep(m));

/**
 * A logger named `name` at `level`, writing to `destination` (a stream, for tests) or stdout.
 *
 * Where the masking happens, pino 9's order of work per line: the logMethod hook (string
 * arguments: the message and string format parameters) → formatters.log (a masked deep copy of
 * the merging object; Errors become {type, message, stack, code}) → serializers (err keeps that
 * shape; msg, the message after format parameters were substituted, is masked once more: this
 * also covers `%d`/`%j` parameters and the message pino takes from err.message when none is
 * given) → redaction by path. Child bindings are masked by the child()/setBindings() wrappers.
 */
export function createLogger(level = 'info', name = 'fraud-engine', destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name,
    level,
    redact: {
      paths: [
        'password',
        '*.password',
        'sasl_password',
        '*.sasl_password',
        'url',
        '*.url',
        'description',
        '*.description',
        'pan',
        '*.pan',
      ],
      censor: '[redacted]',
    },
    formatters: {
      log: (obj) => maskDeep(obj),
      // The root's bindings (name, pid, hostname); pino resets this formatter for children.
      bindings: (bindings) => maskDeep(bindings),
    },
    serializers: {
      // pino's own err serializer takes the {type, message, stack, code} made by maskDeep for an
      // error-like object and renames its type 'Object': keep the masked shape instead.
      err: (err: unknown) => maskDeep(err),
      msg: maskMessage,
    },
    hooks: {
      // First line of defence for messages built from data.
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? maskPans(a) : a)) as Parameters<typeof method>);
      },
    },
  };
  const logger = destination ? pino(options, destination) : pino(options);
  // Children are Object.create(parent): these wrappers are inherited by every descendant.
  const child = logger.child as unknown as (this: Logger, bindings: Bindings, opts?: ChildLoggerOptions) => Logger;
  const setBindings = logger.setBindings as (this: Logger, bindings: Bindings) => void;
  logger.child = function maskedChild(this: Logger, bindings: Bindings, opts?: ChildLoggerOptions) {
    return child.call(this, maskDeep(bindings), opts);
  } as unknown as Logger['child'];
  logger.setBindings = function maskedSetBindings(this: Logger, bindings: Bindings) {
    setBindings.call(this, maskDeep(bindings));
  };
  return logger;
}
