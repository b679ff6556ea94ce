/** A self-contained HTML page of a quality report, for stewards who want to share one. */
import type { QualityReport } from '../../protocol/reports.ts';

const escapeHtml = (value: unknown) =>
  String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function qualityReportHtml(report: QualityReport, title = 'Data quality'): string {
  const rows = report.byCategory
    .map(
      (c) =>
        `<tr><td>${c.context}</td><td>${c.category}</td><td>${c.passed}</td><td>${c.failed}</td><td>${c.notApplicable}</td><td>${c.percentPassed ?? '–'}</td></tr>`,
    )
    .join('');
  const failed = report.checks
    .filter((c) => c.status === 'failed' || c.status === 'error')
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.status)}</td><td>${escapeHtml(c.checkName)}</td><td>${escapeHtml(c.cdmTableName)}</td><td>${escapeHtml(c.cdmFieldName)}</td><td>${escapeHtml(c.conceptId)}</td><td>${escapeHtml(c.numViolatedRows)}</td><td>${c.pctViolatedRows === null ? '' : (c.pctViolatedRows * 100).toFixed(2)}</td><td>${c.thresholdPercent}</td><td>${escapeHtml(c.description)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;font-size:.9rem}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>Generated ${escapeHtml(report.generatedAt)} · OMOP CDM ${escapeHtml(report.cdmVersion)} · ${report.overall.run} checks: ${report.overall.passed} passed, ${report.overall.failed} failed, ${report.overall.notApplicable} not applicable, ${report.overall.errors} errors · ${report.overall.percentPassed ?? '–'} % passed</p>
<table><tr><th>Context</th><th>Category</th><th>Passed</th><th>Failed</th><th>Not applicable</th><th>% passed</th></tr>${rows}</table>
<h2>Failing checks</h2><table><tr><th>Status</th><th>Check</th><th>Table</th><th>Field</th><th>Concept</th><th>Violated rows</th><th>% violated</th><th>Threshold %</th><th>Description</th></tr>${failed}</table></body></html>
`;
}
