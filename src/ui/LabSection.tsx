/**
 * The generalization lab's section of the page (the SFT-generalization study: answer-only vs chain-of-thought SFT,
 * fixed vs diverse instructions, against GRPO; methods in src/train/lab_presets.ts): the results matrix of the
 * evaluated runs. The lab's queue panel (which methods to run, and their progress) goes in this section's grid
 * beside the matrix.
 */
import { memo } from 'react';
import { LabQueue } from './LabQueue';
import { MatrixView } from './MatrixView';

export const LabSection = memo(function LabSection() {
  return (
    <div className="lab-section">
      <LabQueue />
      <section className="panel lab-matrix" aria-labelledby="lab-matrix-title">
        <h2 id="lab-matrix-title">
          Generalization lab — results matrix
          <span className="subtitle"> (rows: methods; columns: evaluation suites; click a cell for its samples)</span>
        </h2>
        <MatrixView />
      </section>
    </div>
  );
});
