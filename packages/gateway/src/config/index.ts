/** Gateway configuration: schema, loader, validation rules and the published JSON Schema. */
export * from './schema.js';
export * from './errors.js';
export * from './loader.js';
export * from './validate.js';
export * from './json-schema.js';
export * from './issuer.js';
