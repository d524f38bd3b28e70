import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings of every process of the platform that `NODE_OPTIONS` cannot carry (Node refuses
 * most V8 flags there), so they live here instead of in the start scripts, the Dockerfile, the
 * compose file and the Kubernetes manifests: `tuneV8()` is the first statement of each entry
 * point's `instrumentation.ts`, before the app's modules load. Imported by its path
 * (`@app/lifecycle/v8-tuning`), not through the library's index, which would load Nest first.
 *
 * `--no-allocation-site-pretenuring`: V8 allocates straight into the old generation the objects
 * of any allocation site whose objects once survived young-generation collections. Sites that
 * the start-up (module loading, Nest's container) or a slow moment tenures this way go on
 * allocating each request's short-lived objects in the old generation, which only a full
 * mark-compact frees: under a liveness load the api grew its old space by 2.2–3.7 KB per probe,
 * a mark-compact every 0.6–1 s; without pretenuring by 0.9–1.5 KB, and the probe answered faster
 * in 7 of 8 alternating rounds (docs/development.md, "Pretenuring off").
 */
const V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

export function tuneV8(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
