/**
 * An OTLP/HTTP receiver for tests: a small HTTP server on 127.0.0.1 that keeps the bodies of
 * `POST /v1/traces` in the JSON encoding (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) and answers 200,
 * flattened into one record per span.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An OTLP `AnyValue` (JSON encoding): 64-bit integers may come as strings. */
interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}

interface KeyValue {
  key: string;
  value: AnyValue;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: KeyValue[];
}

/** `ExportTraceServiceRequest` in the JSON encoding (ids in hex). */
interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

/** A received span: ids, name, its attributes and its resource's, as plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Null for a root span. */
  parentSpanId: string | null;
  name: string;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
}

const plain = (v: AnyValue): string | number | boolean =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.doubleValue ??
  v.boolValue ??
  JSON.stringify(v);

const attrs = (list: KeyValue[] | undefined): Record<string, string | number | boolean> =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));

export class OtlpReceiver {
  /** The raw bodies received, in order. */
  readonly bodies: string[] = [];
  /** Requests to anything but `POST /v1/traces`. */
  readonly others: string[] = [];

  private constructor(private readonly server: Server) {}

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          receiver.bodies.push(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else {
          receiver.others.push(`${req.method} ${req.url}`);
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** `http://127.0.0.1:<port>`: the value of `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Every span received so far, each once: a workflow task that is retried after its spans were
   * sent (say, a signal arrived while it completed the workflow) sends them again, with the same
   * ids, as trace backends expect.
   */
  spans(): ReceivedSpan[] {
    const seen = new Set<string>();
    const all = this.bodies.flatMap((body) =>
      ((JSON.parse(body) as ExportTraceServiceRequest).resourceSpans ?? []).flatMap((rs) => {
        const resource = attrs(rs.resource?.attributes);
        return (rs.scopeSpans ?? []).flatMap((ss) =>
          (ss.spans ?? []).map((s): ReceivedSpan => ({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ? s.parentSpanId : null,
            name: s.name,
            attributes: attrs(s.attributes),
            resource,
          })),
        );
      }),
    );
    return all.filter((s) => {
      const key = `${s.traceId}/${s.spanId}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Whether `span` descends from the span `ancestorId` by parent links among `spans`. */
export function descendsFrom(span: ReceivedSpan, ancestorId: string, spans: ReceivedSpan[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const seen = new Set<string>();
  for (let p = span.parentSpanId; p !== null && !seen.has(p); p = byId.get(p)?.parentSpanId ?? null) {
    if (p === ancestorId) return true;
    seen.add(p);
  }
  return false;
}
