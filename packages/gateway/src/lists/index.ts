/** List filtering of JSON and SSE answers. */
export * from './filter.js';
