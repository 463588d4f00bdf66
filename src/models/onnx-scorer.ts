/**
 * Scores feature vectors with the ONNX model exported by training/train.py.
 *
 * The model takes one float32 input [N, F] (F = the metadata's feature list, which must equal
 * the engine's FEATURE_NAMES) where NaN means "missing", and gives class probabilities
 * [N, 2]; the fraud probability is column `output_column` (1) of `output_name`
 * ("probabilities"). The metadata file sits beside the model: MODEL.onnx → MODEL.json, and
 * so does the trees file (MODEL.trees.json, optional): the model's per-feature contributions,
 * checked at load against the model's own scores (./explain/).
 */
import { existsSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { FEATURE_NAMES } from '../features/names.js';
import { checkExplainerAgainst, loadExplainer, type Explainer } from './explain/explainer.js';
import { checkFeatures, loadModelMetadata, metadataPathFor, type ModelMetadata } from './metadata.js';
import type { Scorer } from './scorer.js';

export interface OnnxScorerOptions {
  /** The engine's feature names in order (FEATURE_NAMES); the model is refused unless equal. */
  expectedFeatures: readonly string[];
  /** Default: the model path with .onnx replaced by .json. */
  metadataPath?: string;
  /** Default 1: the engine shares two cores with Kafka and Redis. */
  intraOpNumThreads?: number;
  /**
   * The model file's bytes, already read (and hashed: src/models/registry/): the session is
   * created from exactly these, never from a second read of the path that may have changed.
   */
  bytes?: Uint8Array;
}

export class OnnxScorer implements Scorer {
  readonly version: string;
  readonly nFeatures: number;
  private explainerOf: Explainer | null = null;

  private constructor(
    private readonly session: InferenceSession,
    readonly metadata: ModelMetadata,
    readonly modelPath: string,
  ) {
    this.version = metadata.model_version;
    this.nFeatures = metadata.features.length;
  }

  /** The model's per-feature contributions; null when it has no trees file. */
  get explainer(): Explainer | null {
    return this.explainerOf;
  }

  /** Review/decline score thresholds chosen at training time. */
  get thresholds(): { review: number; decline: number } {
    return this.metadata.thresholds;
  }

  static async load(modelPath: string, options: OnnxScorerOptions): Promise<OnnxScorer> {
    const metaPath = options.metadataPath ?? metadataPathFor(modelPath);
    // Metadata first: a feature mismatch is refused before the model is even opened.
    const meta = await loadModelMetadata(metaPath);
    checkFeatures(meta, options.expectedFeatures);

    let session: InferenceSession;
    try {
      const sessionOptions: InferenceSession.SessionOptions = {
        intraOpNumThreads: options.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      };
      session = options.bytes
        ? await InferenceSession.create(options.bytes, sessionOptions)
        : await InferenceSession.create(modelPath, sessionOptions);
    } catch (err) {
      throw new Error(`cannot load ONNX model ${modelPath}: ${(err as Error).message}`);
    }
    const scorer = new OnnxScorer(session, meta, modelPath);
    try {
      checkSession(session, meta, modelPath, metaPath);
      // Trees that do not describe this model must not explain its decisions: refused here.
      const explainer = await loadExplainer(modelPath, meta);
      if (explainer) await checkExplainerAgainst(explainer, scorer);
      scorer.explainerOf = explainer;
    } catch (err) {
      await session.release();
      throw err;
    }
    return scorer;
  }

  async score(rows: Float32Array, nRows: number): Promise<Float32Array> {
    if (!Number.isInteger(nRows) || nRows < 0)
      throw new RangeError(`nRows must be a non-negative integer, got ${nRows}`);
    if (rows.length !== nRows * this.nFeatures) {
      throw new RangeError(
        `expected ${nRows} rows × ${this.nFeatures} features = ${nRows * this.nFeatures} values, got ${rows.length}`,
      );
    }
    if (nRows === 0) return new Float32Array(0);
    const { input_name: input, output_name: output, output_column: col } = this.metadata;
    const result = await this.session.run({ [input]: new Tensor('float32', rows, [nRows, this.nFeatures]) }, [output]);
    const out = result[output];
    if (!out || !(out.data instanceof Float32Array)) {
      throw new Error(`model ${this.version}: output "${output}" missing or not float32`);
    }
    const data = out.data;
    const width = out.dims.length === 2 ? Number(out.dims[1]) : 1;
    if (data.length !== nRows * width || col >= width) {
      throw new Error(`model ${this.version}: output "${output}" has shape [${out.dims.join(', ')}] for ${nRows} rows`);
    }
    if (width === 1) return data.slice();
    const scores = new Float32Array(nRows);
    for (let i = 0; i < nRows; i++) scores[i] = data[i * width + col]!;
    return scores;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function checkSession(session: InferenceSession, meta: ModelMetadata, modelPath: string, metaPath: string): void {
  const where = `${modelPath} (metadata ${metaPath})`;
  if (!session.inputNames.includes(meta.input_name)) {
    throw new Error(`${where}: no input "${meta.input_name}"; the model has ${session.inputNames.join(', ')}`);
  }
  if (!session.outputNames.includes(meta.output_name)) {
    throw new Error(`${where}: no output "${meta.output_name}"; the model has ${session.outputNames.join(', ')}`);
  }
  const input = session.inputMetadata.find((m) => m.name === meta.input_name);
  if (input?.isTensor) {
    const last = input.shape[input.shape.length - 1];
    if (input.shape.length !== 2 || (typeof last === 'number' && last !== meta.features.length)) {
      throw new Error(
        `${where}: input "${meta.input_name}" has shape [${input.shape.join(', ')}], ` +
          `expected [N, ${meta.features.length}] for the metadata's ${meta.features.length} features`,
      );
    }
    if (input.type !== 'float32')
      throw new Error(`${where}: input "${meta.input_name}" is ${input.type}, expected float32`);
  }
  const output = session.outputMetadata.find((m) => m.name === meta.output_name);
  if (output?.isTensor) {
    const width = output.shape[1];
    if (typeof width === 'number' && meta.output_column >= width) {
      throw new Error(
        `${where}: output_column ${meta.output_column} is outside "${meta.output_name}" [${output.shape.join(', ')}]`,
      );
    }
  }
}

/** The engine's model at `path` (metadata beside it), its features checked against the engine's (FEATURE_NAMES). */
export function loadEngineScorer(path: string): Promise<OnnxScorer> {
  return OnnxScorer.load(path, { expectedFeatures: FEATURE_NAMES });
}

/** loadEngineScorer, or null when there is no file at `path` (a backtest then runs on rules only). */
export async function engineScorerIfPresent(path: string): Promise<OnnxScorer | null> {
  return existsSync(path) ? loadEngineScorer(path) : null;
}
