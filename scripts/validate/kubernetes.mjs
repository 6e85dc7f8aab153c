// Validates every document of deploy/kubernetes/*.yaml against the Kubernetes and prometheus-operator API shapes
// published as the kubernetes-models packages (generated from the Kubernetes OpenAPI spec and the operator's CRDs):
//  1. at run time, each model's JSON-schema validate() (required fields, types, formats, enums);
//  2. with TypeScript (--strict), each document as an object literal of the model's interface, which also rejects
//     fields the API does not have (the JSON schemas allow unknown fields; the API server drops them silently).
// Usage: node kubernetes.mjs DIR. Exits 1 with every problem found.
import { readFileSync, readdirSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { join, basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const directory = process.argv[2];
const modules = {
  v1: (kind) => `kubernetes-models/v1/${kind}`,
  "apps/v1": (kind) => `kubernetes-models/apps/v1/${kind}`,
  "monitoring.coreos.com/v1": (kind) => `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`,
};
const problems = [];
const runTimeChecks = [];
const work = join(here, ".work");
rmSync(work, { recursive: true, force: true });
mkdirSync(work);
let documents = 0;
const files = readdirSync(directory).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
for (const file of files) {
  const path = join(directory, file);
  const lines = [];
  parseAllDocuments(readFileSync(path, "utf8")).forEach((parsed, index) => {
    const where = `${path} (document ${index + 1})`;
    if (parsed.errors.length > 0) {
      problems.push(`${where}: ${parsed.errors.map((e) => e.message).join("; ")}`);
      return;
    }
    const doc = parsed.toJS();
    const module = modules[doc?.apiVersion]?.(doc.kind);
    if (!module) {
      problems.push(`${where}: no schema for apiVersion ${doc?.apiVersion} kind ${doc?.kind}`);
      return;
    }
    documents++;
    lines.push(`import type { I${doc.kind} as T${index} } from "${module}";`);
    lines.push(`// ${where}`, `export const document${index}: T${index} = ${JSON.stringify(doc, null, 2)};`);
    runTimeChecks.push(import(module).then(
      (model) => {
        try {
          new model[doc.kind](doc).validate();
        } catch (e) {
          problems.push(`${where}: ${e.message}`);
        }
      },
      () => problems.push(`${where}: no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`)));
  });
  writeFileSync(join(work, `${basename(file, ".yaml")}.ts`), lines.join("\n") + "\n");
}
await Promise.all(runTimeChecks);

try {
  execFileSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--skipLibCheck",
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", ...files.map((f) => join(work, `${basename(f, ".yaml")}.ts`))],
    { cwd: here, encoding: "utf8", stdio: "pipe" });
} catch (e) {
  problems.push(`TypeScript:\n${e.stdout}${e.stderr}`);
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`${documents} documents in ${files.length} files match the Kubernetes and prometheus-operator schemas`);

