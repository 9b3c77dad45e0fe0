import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. */
  otlpEndpoint?: string | undefined;
  /** An exporter of your own (tests use the in-memory one); exported span by span. */
  exporter?: SpanExporter;
}

/**
 * OpenTelemetry traces of the gateway, on a provider of its own (never the global one, so several instances
 * in a process do not mix). Absent configuration, `tracingFrom` returns undefined and callers skip all span work.
 */
export class Tracing {
  private readonly provider: BasicTracerProvider;
  readonly tracer: Tracer;

  constructor(exporter: SpanExporter, batch: boolean) {
    this.provider = new BasicTracerProvider({
      spanProcessors: [batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter)],
    });
    this.tracer = this.provider.getTracer('gatehouse');
  }

  /**
   * Runs `fn` inside a span named `name`; an exception marks the span as an error and is rethrown. A valid W3C
   * `traceparent` makes the span a child of the caller's span, so an agent's trace continues through the gateway.
   */
  async span<T>(
    name: string,
    attributes: Attributes,
    fn: (span: Span) => Promise<T>,
    traceparent?: string | undefined,
  ): Promise<T> {
    const remote = parseTraceparent(traceparent);
    const parent: Context = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(name, { attributes }, parent);
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  }

  /**
   * Child spans of `parent` for work measured before the spans could exist (the pipeline's stages): `start` is a
   * `performance.now()` reading, placed on the wall clock through `performance.timeOrigin`.
   */
  recordChildren(parent: Span, children: readonly { name: string; start: number; ms: number }[]): void {
    const ctx = trace.setSpan(ROOT_CONTEXT, parent);
    for (const c of children) {
      const startTime = performance.timeOrigin + c.start;
      this.tracer.startSpan(c.name, { startTime }, ctx).end(startTime + c.ms);
    }
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** The tracing an environment asks for: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT. */
export function tracingFrom(opts: TracingOptions = {}, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (opts.exporter) return new Tracing(opts.exporter, false);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const url = opts.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : undefined);
  if (!url) return undefined;
  return new Tracing(new OTLPTraceExporter({ url }), true);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * The caller's span from a W3C Trace Context `traceparent` header, or undefined when absent or malformed (a bad
 * header starts a new trace rather than failing the request). Version ff and all-zero ids are invalid; later
 * versions may append fields, which are ignored.
 */
export function parseTraceparent(header: string | undefined): SpanContext | undefined {
  if (header === undefined || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const version = m[1]!;
  const traceId = m[2]!;
  const spanId = m[3]!;
  if (version === 'ff' || (version === '00' && header.trim().length !== 55)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(m[4]!, 16) & 1, isRemote: true };
}
