/**
 * Where bad input goes: one NDJSON file per input file under DIR/quarantine/, each line
 * naming the file, the line, the field (when one is at fault) and the reason. Nothing
 * bad is dropped silently and nothing bad stops the rest of the run.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface QuarantineItem {
  file: string;
  line: number;
  reason: string;
  field?: string;
}

export class Quarantine {
  private readonly handles = new Map<string, number>();
  count = 0;

  constructor(readonly dir: string) {}

  add(item: QuarantineItem): void {
    let fd = this.handles.get(item.file);
    if (fd === undefined) {
      fs.mkdirSync(this.dir, { recursive: true });
      fd = fs.openSync(path.join(this.dir, `${path.basename(item.file)}.quarantine.ndjson`), 'a');
      this.handles.set(item.file, fd);
    }
    fs.writeSync(fd, `${JSON.stringify({ at: new Date().toISOString(), ...item })}\n`);
    this.count++;
  }

  close(): void {
    for (const fd of this.handles.values()) fs.closeSync(fd);
    this.handles.clear();
  }
}
