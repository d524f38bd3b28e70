// `npm run k8s:validate`: every object in config/kubernetes/*.yaml against the Kubernetes API's
// own OpenAPI schemas (kubernetes-models, ESM-only — hence a script, not a jest test), and the
// kustomization's resource list against the folder. Exits 1 with one line per problem.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../../config/kubernetes');
const problems = [];
const out = (line) => process.stdout.write(`${line}\n`);

/** The kubernetes-models class of an object: `apps/v1` + `Deployment` → apps/v1/Deployment. */
async function modelOf(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !/^[A-Za-z]+$/.test(kind)) {
    throw new Error(`apiVersion and kind must be strings (got ${apiVersion} ${kind})`);
  }
  const module = await import(`kubernetes-models/${apiVersion}/${kind}`).catch(() => undefined);
  if (!module?.[kind]) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return module[kind];
}

async function validate(object) {
  const Model = await modelOf(object.apiVersion, object.kind);
  new Model(object).validate();
}

// The gate must be able to fail: a Deployment with a wrong type and an unknown field.
const broken = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'broken' },
  spec: {
    replicas: 'two',
    selector: {},
    template: { spec: { containers: [{ name: 'x', imag: 1 }] } },
  },
};
if (
  await validate(broken).then(
    () => true,
    () => false,
  )
) {
  out('the schema validation accepted a broken Deployment: the gate is not working');
  process.exit(1);
}

const files = readdirSync(dir).filter((file) => file.endsWith('.yaml'));
const kustomization = 'kustomization.yaml';
let objects = 0;
for (const file of files.filter((name) => name !== kustomization)) {
  for (const [index, doc] of parseAllDocuments(readFileSync(join(dir, file), 'utf8')).entries()) {
    if (doc.errors.length > 0) {
      problems.push(`${file} #${index + 1}: ${doc.errors[0].message}`);
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    const name = `${file} ${object.kind ?? '?'}/${object.metadata?.name ?? '?'}`;
    try {
      await validate(object);
      objects += 1;
    } catch (error) {
      const details = error.errors?.map((e) => `${e.instancePath || '/'} ${e.message}`) ?? [];
      problems.push(`${name}: ${details.length ? details.join('; ') : error.message}`);
    }
  }
}

// kustomization.yaml: not an API object (no schema covers it); its resources must be the
// folder's manifests but the Secret example, each once.
const resources = parseAllDocuments(readFileSync(join(dir, kustomization), 'utf8'))[0].toJS()
  .resources;
const expected = files.filter((file) => file !== kustomization && file !== 'secret.example.yaml');
for (const file of expected.filter((f) => !resources.includes(f))) {
  problems.push(`${kustomization}: ${file} is missing from resources`);
}
for (const file of resources.filter((f) => !expected.includes(f))) {
  problems.push(
    `${kustomization}: ${file} is not a manifest of this folder (or is the Secret example)`,
  );
}

if (problems.length > 0) {
  for (const problem of problems) out(problem);
  process.exit(1);
}
out(
  `${objects} objects in ${files.length - 1} manifests valid against the Kubernetes API schemas; kustomization lists ${resources.length}`,
);
