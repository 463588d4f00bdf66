/** A configuration value refused at start-up, named by its key (a file key or its FRAUD_* variable). */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid configuration: ${key}: ${reason}`);
  }
}
