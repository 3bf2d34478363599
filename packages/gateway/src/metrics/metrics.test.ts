/** Specification of the metrics registry and its setter functions. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { GatewayMetrics } from './metrics.js';

describe('GatewayMetrics', () => {
  test('exposes request, latency, in-flight and the gauges fed by other parts', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.observeRequest('crm', 'deny', 'insufficient_scope', 403, 0.01);
    m.observeUpstream('crm', 200, 0.02);
    m.addInFlight('crm', 1);
    m.setKeySetState('http://idp', 'stale');
    m.countIntrospectionCache('hit');
    m.countExchangeCache('miss');
    m.setAuditQueueDepth(4);
    m.setStdioProcesses('notes', 2);
    m.countReload('error');
    const text = await m.render();
    for (const line of [
      'mcp_iam_requests_total{route="crm",outcome="deny",reason="insufficient_scope",status="403"} 1',
      'mcp_iam_requests_in_flight{route="crm"} 1',
      'mcp_iam_issuer_key_set_state{issuer="http://idp"} 2',
      'mcp_iam_introspection_cache_total{result="hit"} 1',
      'mcp_iam_token_exchange_cache_total{result="miss"} 1',
      'mcp_iam_audit_queue_depth 4',
      'mcp_iam_stdio_processes{route="notes"} 2',
      'mcp_iam_config_reloads_total{result="error"} 1',
      'mcp_iam_upstream_duration_seconds_count{route="crm",status="200"} 1',
      'mcp_iam_request_duration_seconds_count{route="crm",outcome="deny"} 1',
    ])
      assert.ok(text.includes(line), line);
  });

  test('request counts observed between scrapes all reach requests_total', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    const line =
      'mcp_iam_requests_total{route="crm",outcome="allow",reason="allowed",status="200"}';
    m.observeRequest('crm', 'allow', 'allowed', 200, 0.01);
    m.observeRequest('crm', 'allow', 'allowed', 200, 0.01);
    assert.ok((await m.render()).includes(`${line} 2`));
    assert.ok((await m.render()).includes(`${line} 2`), 'a second scrape adds nothing');
    m.observeRequest('crm', 'allow', 'allowed', 200, 0.01);
    m.observeRequest('crm', 'deny', 'missing_token', 401, 0.01);
    const text = await m.render();
    assert.ok(text.includes(`${line} 3`));
    assert.ok(
      text.includes(
        'mcp_iam_requests_total{route="crm",outcome="deny",reason="missing_token",status="401"} 1',
      ),
    );
  });

  test('two instances keep separate registries', async () => {
    const a = new GatewayMetrics({ processMetrics: false });
    const b = new GatewayMetrics({ processMetrics: false });
    a.setAuditQueueDepth(1);
    assert.match(await b.render(), /mcp_iam_audit_queue_depth 0/);
  });

  test('latency histograms are written exactly as prom-client writes them, in text and JSON', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    const reference = new Registry();
    const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    const duration = new Histogram({
      name: 'mcp_iam_request_duration_seconds',
      help: 'Time from request arrival to the start of the answer.',
      labelNames: ['route', 'outcome'],
      buckets,
      registers: [reference],
    });
    const upstream = new Histogram({
      name: 'mcp_iam_upstream_duration_seconds',
      help: 'Time until the upstream answered with headers.',
      labelNames: ['route', 'status'],
      buckets,
      registers: [reference],
    });
    const samples: [string, 'allow' | 'deny' | 'error', number | 'error', number][] = [
      ['crm', 'allow', 200, 0.0004],
      ['crm', 'allow', 200, 0.001],
      ['crm', 'deny', 403, 0.02],
      ['notes', 'error', 'error', 31],
      ['crm', 'allow', 502, 0.3],
      ['a"b\\c', 'allow', 200, 0],
    ];
    for (const [route, outcome, status, seconds] of samples) {
      m.observeRequest(
        route,
        outcome,
        'allowed',
        typeof status === 'number' ? status : 502,
        seconds,
      );
      duration.observe({ route, outcome }, seconds);
      m.observeUpstream(route, status, seconds);
      upstream.observe({ route, status: String(status) }, seconds);
    }
    const ours = await m.registry.getSingleMetricAsString('mcp_iam_request_duration_seconds');
    assert.equal(ours, await reference.getSingleMetricAsString('mcp_iam_request_duration_seconds'));
    assert.equal(
      await m.registry.getSingleMetricAsString('mcp_iam_upstream_duration_seconds'),
      await reference.getSingleMetricAsString('mcp_iam_upstream_duration_seconds'),
    );
    const byName = (metrics: { name: string }[]) =>
      Object.fromEntries(
        metrics.filter((x) => x.name.endsWith('_seconds')).map((x) => [x.name, x]),
      );
    assert.deepEqual(
      byName(await m.registry.getMetricsAsJSON()),
      byName(await reference.getMetricsAsJSON()),
    );
  });
});
