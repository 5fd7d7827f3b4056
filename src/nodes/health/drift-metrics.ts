/**
 * Stream timing health, RemoteMedia's `DriftMetrics` (crates/core/src/executor/drift_metrics.rs) as far as
 * HealthEmitterNode uses it: each frame's media timestamp against its arrival time gives a lead (normalised to
 * the first frame), whose slope (EMA-smoothed, ms per second), jumps and cadence (coefficient of variation of the
 * media intervals over the last 1000 frames) raise alerts with hysteresis (5 frames to raise, 10 to clear, none
 * in the first 50 frames), and a health score in [0, 1]. A backwards step or a jump over 2 s in media time is a
 * discontinuity: the baseline restarts and the alerts clear.
 *
 * RemoteMedia's A/V skew and freeze alerts need video frames and content hashes, which HealthEmitterNode never
 * passes for audio, so they never raise there and are left out here. The cadence statistics are kept as running
 * sums over a ring buffer, so a frame costs O(1) where RemoteMedia rescans the 1000 intervals.
 */

/** Alert names, as RemoteMedia's health events spell them. */
export const DRIFT_SLOPE = 1;
export const LEAD_JUMP = 2;
export const CADENCE_UNSTABLE = 4;
export const HEALTH_LOW = 8;
export const DRIFT_ALERT_NAMES: readonly (readonly [number, string])[] = [
  [DRIFT_SLOPE, 'DRIFT_SLOPE'],
  [LEAD_JUMP, 'LEAD_JUMP'],
  [CADENCE_UNSTABLE, 'CADENCE_UNSTABLE'],
  [HEALTH_LOW, 'HEALTH_LOW'],
];

/** Thresholds; the fixed ones are RemoteMedia's HealthEmitterNode values. */
export interface DriftThresholds {
  /** Lead jump between consecutive frames that counts, in µs. */
  readonly leadJumpUs: number;
  /** Cadence coefficient of variation above which cadence is unstable. */
  readonly cadenceCvThreshold: number;
  /** Health score below which HEALTH_LOW raises. */
  readonly healthThreshold: number;
}

const SLOPE_THRESHOLD_MS_PER_S = 5;
const SLOPE_EMA_ALPHA = 0.1;
const SAMPLES_TO_RAISE = 5;
const SAMPLES_TO_CLEAR = 10;
const WARMUP_SAMPLES = 50;
const BUFFER_SIZE = 1000;
const DISCONTINUITY_US = 2_000_000;

/** One alert's hysteresis: consecutive frames for or against it. */
class AlertState {
  raised = false;
  count = 0;

  /** Feeds one frame's condition; true when the alert changed. */
  update(condition: boolean): boolean {
    if (this.raised) {
      if (condition) this.count = 0;
      else if (++this.count >= SAMPLES_TO_CLEAR) {
        this.raised = false;
        this.count = 0;
        return true;
      }
    } else if (condition) {
      if (++this.count >= SAMPLES_TO_RAISE) {
        this.raised = true;
        this.count = 0;
        return true;
      }
    } else this.count = 0;
    return false;
  }

  reset(): void {
    this.raised = false;
    this.count = 0;
  }
}

/** One stream's timing health. */
export class DriftMetrics {
  private totalSamples = 0;
  private sessionStartUs: number | null = null;
  private baselineArrivalUs: number | null = null;
  private baselineMediaUs: number | null = null;
  private lastMediaUs: number | null = null;
  /** Recorded samples (capped at 2: only the last two are ever read). */
  private recorded = 0;
  private lastElapsedUs = 0;
  private lastLeadUs = 0;
  private prevLeadUs = 0;
  private slope = 0;
  private readonly cadence = new Float64Array(BUFFER_SIZE);
  private cadenceStart = 0;
  private cadenceCount = 0;
  private cadenceSum = 0;
  private cadenceSumSquares = 0;
  private readonly slopeAlert = new AlertState();
  private readonly jumpAlert = new AlertState();
  private readonly cadenceAlert = new AlertState();
  private readonly healthAlert = new AlertState();

  constructor(private readonly thresholds: DriftThresholds) {}

  /** Records one frame; true when an alert was raised or cleared. */
  record(mediaUs: number, arrivalUs: number): boolean {
    this.totalSamples++;
    this.sessionStartUs ??= arrivalUs;
    const last = this.lastMediaUs;
    if (last !== null && (mediaUs < last || mediaUs - last > DISCONTINUITY_US)) {
      this.baselineArrivalUs = null;
      this.baselineMediaUs = null;
      this.lastMediaUs = null;
      for (const a of [this.slopeAlert, this.jumpAlert, this.cadenceAlert, this.healthAlert]) a.reset();
    }
    this.baselineArrivalUs ??= arrivalUs;
    this.baselineMediaUs ??= mediaUs;
    const lead =
      Math.max(0, arrivalUs - this.baselineArrivalUs) - Math.max(0, mediaUs - this.baselineMediaUs);
    const elapsed = Math.max(0, arrivalUs - this.sessionStartUs);
    if (this.recorded > 0) {
      const dElapsed = Math.max(0, elapsed - this.lastElapsedUs);
      if (dElapsed > 0) {
        const instant = ((lead - this.lastLeadUs) / dElapsed) * 1000;
        this.slope = SLOPE_EMA_ALPHA * instant + (1 - SLOPE_EMA_ALPHA) * this.slope;
      }
    }
    if (this.lastMediaUs !== null) this.pushCadence(Math.max(0, mediaUs - this.lastMediaUs));
    this.prevLeadUs = this.lastLeadUs;
    this.lastLeadUs = lead;
    this.lastElapsedUs = elapsed;
    if (this.recorded < 2) this.recorded++;
    this.lastMediaUs = mediaUs;
    if (this.totalSamples <= WARMUP_SAMPLES) return false;

    let changed = this.slopeAlert.update(Math.abs(this.slope) > SLOPE_THRESHOLD_MS_PER_S);
    const jump = this.recorded > 1 && Math.abs(lead - this.prevLeadUs) > this.thresholds.leadJumpUs;
    changed = this.jumpAlert.update(jump) || changed;
    changed = this.cadenceAlert.update(this.cadenceCv() > this.thresholds.cadenceCvThreshold) || changed;
    changed = this.healthAlert.update(this.healthScore() < this.thresholds.healthThreshold) || changed;
    return changed;
  }

  private pushCadence(interval: number): void {
    if (this.cadenceCount === BUFFER_SIZE) {
      const old = this.cadence[this.cadenceStart] as number;
      this.cadenceSum -= old;
      this.cadenceSumSquares -= old * old;
      this.cadence[this.cadenceStart] = interval;
      this.cadenceStart = (this.cadenceStart + 1) % BUFFER_SIZE;
    } else {
      this.cadence[(this.cadenceStart + this.cadenceCount) % BUFFER_SIZE] = interval;
      this.cadenceCount++;
    }
    this.cadenceSum += interval;
    this.cadenceSumSquares += interval * interval;
  }

  /** Coefficient of variation of the media intervals (0 with fewer than 2, or a mean under 1 µs). */
  cadenceCv(): number {
    const n = this.cadenceCount;
    if (n < 2) return 0;
    const mean = this.cadenceSum / n;
    if (mean < 1) return 0;
    const variance = Math.max(0, this.cadenceSumSquares / n - mean * mean);
    return Math.sqrt(variance) / mean;
  }

  /** 1 minus penalties: slope up to 0.3, cadence up to 0.2 (RemoteMedia's weights). */
  healthScore(): number {
    const slopePenalty = Math.min(1, Math.abs(this.slope) / SLOPE_THRESHOLD_MS_PER_S) * 0.3;
    const cadencePenalty = Math.min(1, this.cadenceCv() / this.thresholds.cadenceCvThreshold) * 0.2;
    return Math.max(0, 1 - slopePenalty - cadencePenalty);
  }

  /** The raised alerts as a bit set (DRIFT_SLOPE | LEAD_JUMP | CADENCE_UNSTABLE | HEALTH_LOW). */
  alerts(): number {
    return (
      (this.slopeAlert.raised ? DRIFT_SLOPE : 0) |
      (this.jumpAlert.raised ? LEAD_JUMP : 0) |
      (this.cadenceAlert.raised ? CADENCE_UNSTABLE : 0) |
      (this.healthAlert.raised ? HEALTH_LOW : 0)
    );
  }

  /** The latest lead in µs (arrival time ahead of media time since the baseline), null before any frame. */
  leadUs(): number | null {
    return this.recorded > 0 ? this.lastLeadUs : null;
  }

  /** The EMA-smoothed lead slope in ms per second. */
  slopeMsPerS(): number {
    return this.slope;
  }
}
