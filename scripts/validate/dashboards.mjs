// Type-checks the Grafana dashboards (dashboards/*.json) against @grafana/schema (pinned in package-lock.json) with
// TypeScript --strict: each dashboard as an object literal of the schema's Dashboard (panels Panel | RowPanel,
// templating, annotations, time...), and each panel's `options` and `fieldConfig.defaults.custom` as its panel
// plugin's Options and FieldConfig (timeseries, stat, table, state-timeline, heatmap). Object literals make tsc reject
// unknown fields, wrong types and enum values that are not in the schema.
// Usage: node dashboards.mjs FILE.json... Exits 1 with tsc's messages.
import { readFileSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { join, basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

const here = dirname(fileURLToPath(import.meta.url));
// Panel type -> its plugin's generated types; stat has Options only.
const plugins = {
  timeseries: "timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen",
  stat: "stat/panelcfg/x/StatPanelCfg_types.gen",
  table: "table/panelcfg/x/TablePanelCfg_types.gen",
  "state-timeline": "statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen",
  heatmap: "heatmap/panelcfg/x/HeatmapPanelCfg_types.gen",
};
const withoutFieldConfig = new Set(["stat"]);
const work = join(here, ".work-dashboards");
rmSync(work, { recursive: true, force: true });
mkdirSync(work);
const problems = [];
const sources = [];
for (const path of process.argv.slice(2)) {
  const dashboard = JSON.parse(readFileSync(path, "utf8"));
  // Export-format placeholders for Grafana's import dialog, not part of the dashboard model.
  delete dashboard.__inputs;
  delete dashboard.__requires;
  // Json<T>: the schema's enums are TypeScript enums while JSON holds their string values, so a string type becomes
  // the union of its values; every field is optional, as in saved JSON (Grafana fills in defaults on load).
  const lines = [`// ${path}`, `import type { Dashboard } from "@grafana/schema";`,
    "type Json<T> = T extends string ? `${T}` : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]?: Json<T[K]> } : T;"];
  Object.entries(plugins).forEach(([type, module], i) =>
    lines.push(`import type * as p${i} from "@grafana/schema/dist/esm/raw/composable/${module}";`));
  // Two things Grafana's own editors save that the schema does not describe: the query variable editor's copy of
  // its query (`definition`), and the table footer's "all fields" as "" where the schema says string[].
  for (const variable of dashboard.templating?.list ?? []) delete variable.definition;
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const panel of panels) if (panel.options?.footer?.fields === "") delete panel.options.footer.fields;
  panels.forEach((panel, n) => {
    if (panel.type === "row") return;
    const i = Object.keys(plugins).indexOf(panel.type);
    if (i < 0) {
      problems.push(`${path}: panel "${panel.title}" has type ${panel.type}, which this check has no schema for`);
      return;
    }
    lines.push(`// panel "${panel.title}" (${panel.type})`);
    lines.push(`export const options${n}: Json<p${i}.Options> = ${JSON.stringify(panel.options ?? {}, null, 2)};`);
    if (!withoutFieldConfig.has(panel.type)) {
      lines.push(`export const custom${n}: Json<p${i}.FieldConfig> = ${JSON.stringify(panel.fieldConfig?.defaults?.custom ?? {}, null, 2)};`);
    }
  });
  lines.push(`export const dashboard: Json<Dashboard> = ${JSON.stringify(dashboard, null, 2)};`);
  const source = join(work, `${basename(path, ".json")}.ts`);
  writeFileSync(source, lines.join("\n") + "\n");
  sources.push(source);
}
try {
  execFileSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--skipLibCheck",
    "--module", "esnext", "--moduleResolution", "bundler", "--target", "es2022", ...sources],
    { cwd: here, encoding: "utf8", stdio: "pipe" });
} catch (e) {
  problems.push(`TypeScript:\n${e.stdout}${e.stderr}`);
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`${sources.length} dashboards match @grafana/schema (dashboard, panels, and each panel's options and field config)`);
