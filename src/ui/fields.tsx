/**
 * Labelled form controls shared by the panels: every control has a <label>, and a config issue for its path is shown
 * inline right under it. Number fields keep the text being typed locally and hand the store a number (NaN while the
 * text is not a number, so validation names the field).
 */
import { type ReactNode, useEffect, useId, useState } from 'react';
import type { ConfigIssue } from '../model/config';

/** Messages of the issues at `path` or below it, joined. */
export function issueAt(issues: readonly ConfigIssue[], path: string): string | null {
  const mine = issues.filter((i) => i.path === path || i.path.startsWith(`${path}.`));
  return mine.length === 0 ? null : mine.map((i) => i.message).join('; ');
}

interface FieldProps {
  label: string;
  issue?: string | null;
  hint?: string;
  /** Spans the whole form row. */
  wide?: boolean;
  children: (id: string) => ReactNode;
}

function Field({ label, issue, hint, wide, children }: FieldProps) {
  const id = useId();
  return (
    <div className={`field${issue ? ' field-bad' : ''}${wide ? ' field-wide' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint && !issue && <span className="hint">{hint}</span>}
      {issue && (
        <span className="issue" role="alert">
          {issue}
        </span>
      )}
    </div>
  );
}

interface NumberFieldProps {
  label: string;
  value: number;
  onChange(value: number): void;
  issue?: string | null;
  hint?: string;
  min?: number;
  max?: number;
  step?: number | 'any';
  disabled?: boolean;
  testId?: string;
}

export function NumberField({
  label,
  value,
  onChange,
  issue,
  hint,
  min,
  max,
  step,
  disabled,
  testId,
}: NumberFieldProps) {
  const [text, setText] = useState(() => String(value));
  // Follow outside changes (a loaded run's settings) without fighting the text being typed.
  useEffect(() => {
    setText((t) => (Object.is(Number(t), value) || (t.trim() === '' && Number.isNaN(value)) ? t : String(value)));
  }, [value]);
  return (
    <Field label={label} issue={issue ?? null} {...(hint ? { hint } : {})}>
      {(id) => (
        <input
          id={id}
          type="number"
          inputMode="decimal"
          value={text}
          min={min}
          max={max}
          step={step ?? 'any'}
          disabled={disabled}
          aria-invalid={issue ? true : undefined}
          data-testid={testId}
          onChange={(e) => {
            setText(e.target.value);
            onChange(e.target.value.trim() === '' ? Number.NaN : Number(e.target.value));
          }}
        />
      )}
    </Field>
  );
}

interface SelectFieldProps<V extends string> {
  label: string;
  value: V;
  options: readonly { value: V; label: string }[];
  onChange(value: V): void;
  issue?: string | null;
  hint?: string;
  disabled?: boolean;
  testId?: string;
  wide?: boolean;
}

export function SelectField<V extends string>({
  label,
  value,
  options,
  onChange,
  issue,
  hint,
  disabled,
  testId,
  wide,
}: SelectFieldProps<V>) {
  return (
    <Field label={label} issue={issue ?? null} wide={wide ?? false} {...(hint ? { hint } : {})}>
      {(id) => (
        <select
          id={id}
          value={value}
          disabled={disabled}
          data-testid={testId}
          aria-invalid={issue ? true : undefined}
          onChange={(e) => {
            const picked = options.find((o) => o.value === e.target.value);
            if (picked) onChange(picked.value);
          }}
        >
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
