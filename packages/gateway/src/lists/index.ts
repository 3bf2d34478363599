/** List filtering of JSON and SSE answers, and the SSE parser it reads streams with. */
export * from './filter.js';
export * from './event-stream.js';
