/**
 * A model file as the registry knows it: its bytes, their sha256, and a scorer created from those
 * very bytes (never from a second read of a path that may have changed in between), checked as the
 * engine checks any model (metadata beside it, the engine's features in order) and, for an
 * approved version, against what was approved (the hash, the metadata's version).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FEATURE_NAMES } from '../../features/names.js';
import { OnnxScorer } from '../onnx-scorer.js';

/** Why a file was refused: unreadable or not a model of the engine (load), other bytes than approved (sha256), another version (version). */
export type ModelFileProblem = 'load' | 'sha256' | 'version';

export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(
    message: string,
    readonly reason: ModelFileProblem,
  ) {
    super(message);
  }
}

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The sha256 of the file at `path`; ModelFileError (load) when it cannot be read. */
export async function sha256OfFile(path: string): Promise<string> {
  return sha256Of(await readBytes(path));
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ModelFileError(`cannot read model file ${path}: ${(err as Error).message}`, 'load');
  }
}

export interface Expected {
  /** The approved file's hash: other bytes are refused. */
  sha256?: string;
  /** The approved version: a metadata naming another is refused. */
  version?: string;
  /** Default: the engine's FEATURE_NAMES. */
  features?: readonly string[];
}

/**
 * The scorer of the file at `path`, loaded from the bytes that were hashed, checked against
 * `expected`, and run once on a small batch of rows with every feature missing (a model that
 * cannot score, or scores outside [0, 1], is refused before it decides anything).
 */
export async function loadVerifiedModel(
  path: string,
  expected: Expected = {},
): Promise<{ scorer: OnnxScorer; sha256: string }> {
  const bytes = await readBytes(path);
  const sha256 = sha256Of(bytes);
  if (expected.sha256 !== undefined && sha256 !== expected.sha256)
    throw new ModelFileError(
      `model file ${path} has sha256 ${sha256}, not the approved ${expected.sha256}: the file changed after it was published`,
      'sha256',
    );
  let scorer: OnnxScorer;
  try {
    scorer = await OnnxScorer.load(path, { expectedFeatures: expected.features ?? FEATURE_NAMES, bytes });
  } catch (err) {
    throw new ModelFileError((err as Error).message, 'load');
  }
  try {
    if (expected.version !== undefined && scorer.version !== expected.version)
      throw new ModelFileError(
        `model file ${path}: its metadata says version ${scorer.version}, the approved version is ${expected.version}`,
        'version',
      );
    const n = 2;
    const scores = await scorer.score(new Float32Array(n * scorer.nFeatures).fill(NaN), n);
    if (scores.length !== n || !scores.every((s) => Number.isFinite(s) && s >= 0 && s <= 1))
      throw new ModelFileError(`model ${scorer.version} (${path}) gives scores outside [0, 1]`, 'load');
  } catch (err) {
    await scorer.close().catch(() => undefined);
    if (err instanceof ModelFileError) throw err;
    throw new ModelFileError(`model ${scorer.version} (${path}) cannot score: ${(err as Error).message}`, 'load');
  }
  return { scorer, sha256 };
}

/** What `models publish` records of a file that passed every check. */
export interface ModelCandidate {
  version: string;
  /** Absolute: the path the engines open. */
  path: string;
  sha256: string;
  features: number;
}

/** Checks the file at `path` as an engine would load it, then lets it go; throws ModelFileError naming the reason. */
export async function inspectModelFile(path: string): Promise<ModelCandidate> {
  const abs = resolve(path);
  const { scorer, sha256 } = await loadVerifiedModel(abs);
  await scorer.close().catch(() => undefined);
  return { version: scorer.version, path: abs, sha256, features: scorer.nFeatures };
}
