import { type Attributes, type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
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

  /** Runs `fn` inside a span named `name`; an exception marks the span as an error and is rethrown. */
  async span<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(name, { attributes });
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
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
