/**
 * The part of autocannon 8's API the harness uses (the package ships no types).
 */
declare module 'autocannon' {
  /** One request as autocannon builds it. */
  export interface AutocannonRequestParams {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }

  export interface AutocannonOptions {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    requests?: Array<{
      setupRequest?: (request: AutocannonRequestParams) => AutocannonRequestParams;
    }>;
  }

  export interface AutocannonResult {
    requests: { total: number; average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
    duration: number;
  }

  export default function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
}
