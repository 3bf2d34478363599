/** Specification of the metrics registry and its setter functions. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
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

  test('two instances keep separate registries', async () => {
    const a = new GatewayMetrics({ processMetrics: false });
    const b = new GatewayMetrics({ processMetrics: false });
    a.setAuditQueueDepth(1);
    assert.match(await b.render(), /mcp_iam_audit_queue_depth 0/);
  });
});
