/**
 * Whether the OpenTelemetry SDK starts (SPEC §15): an OTLP endpoint or `OTEL_TRACES_EXPORTER`
 * naming otlp, and not `OTEL_SDK_DISABLED=true`. Read from the real environment only — the SDK
 * starts before the platform's configuration (`.env`, `_FILE`) is loaded.
 */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
  if (exporters.includes('none')) return false;
  return Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ||
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    exporters.includes('otlp'),
  );
}
