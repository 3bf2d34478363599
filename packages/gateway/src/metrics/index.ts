/** Gateway metrics (Prometheus). */
export * from './metrics.js';
