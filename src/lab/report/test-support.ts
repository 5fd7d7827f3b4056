/**
 * What the report tests share: the two LabReport fixtures (test/fixtures/lab-report-{pipelines,http}.json) and
 * the look-ups that pick a scenario or a row out of a copy of one to modify.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { LabReport, ReportRow, ReportScenario } from './model.js';

/** A model type with its top-level fields writable, to modify a copy of a fixture. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The fixtures, in the order the tests go through them. */
export const FIXTURES = ['pipelines', 'http'] as const;

/** A fresh copy of a fixture report, parsed from its file. */
export function loadFixture(name: (typeof FIXTURES)[number]): LabReport {
  const url = new URL(`../../../test/fixtures/lab-report-${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as LabReport;
}

export function scenarioOf(report: LabReport, name: string): Mutable<ReportScenario> {
  const s = report.scenarios.find((x) => x.name === name);
  assert.ok(s, `scenario ${name}`);
  return s;
}

export function rowOf(report: LabReport, scenario: string, contestant: string): Mutable<ReportRow> {
  const row = scenarioOf(report, scenario).rows.find((r) => r.contestant === contestant);
  assert.ok(row, `row ${scenario}/${contestant}`);
  return row;
}
