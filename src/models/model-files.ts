/**
 * The files that travel beside a model (MODEL.json, MODEL.trees.json, MODEL.reference.json):
 * their paths from the model's, reading them as JSON with errors that name the file, and the
 * small helpers their validators share.
 */
import { readFile } from 'node:fs/promises';

/** MODEL.onnx → MODEL<suffix> (any other name: the name plus the suffix). */
export function besideModel(modelPath: string, suffix: string): string {
  return `${modelPath.endsWith('.onnx') ? modelPath.slice(0, -'.onnx'.length) : modelPath}${suffix}`;
}

/**
 * The parsed JSON of `path`, or null when the file does not exist and `missingOk`; any other
 * failure is thrown as `fail(message)`, the message naming `what` and the file.
 */
export async function readModelJson(
  path: string,
  what: string,
  fail: (message: string) => Error,
  o: { missingOk?: boolean } = {},
): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (o.missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fail(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw fail(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A value as an error message shows it: JSON, cut at 60 characters. */
export const show = (v: unknown): string => {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
