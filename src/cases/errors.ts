/** A refusal of a case action the person can act on: no such case, held by someone else, a bad value. */
export class CaseError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}
