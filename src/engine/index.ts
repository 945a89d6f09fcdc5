// The engine's public API: everything outside src/engine imports from here only.
export { ExperimentInputShape, LIMITS, SpecError, type Experiment, type ExperimentInput, type LayerSpec, type SpecIssue } from './spec.ts';
export { listPresets, resolveExperiment, validateExperiment, getPreset, type PresetInfo } from './presets.ts';
export { planNetwork, type NetworkPlan, type NativeNetworkDesc } from './network-plan.ts';
export { loadMnist, MnistError, type Mnist, type LoadMnistOptions } from './mnist.ts';
export { splitData, splitDataAsync, type DataSplit } from './split.ts';
export { encodeCheckpoint, decodeCheckpoint, CheckpointError } from './checkpoint.ts';
export { saveModel, loadModel, ModelFormatError } from './model-io.ts';
export {
  PROGRESS_INTERVAL_MS, SIGNAL_CANCEL, SIGNAL_INTERRUPT,
  type Checkpoint, type EpochMetrics, type TrainedModel, type TrainOptions, type TrainResult, type TrainProgress,
} from './training-types.ts';
export { train } from './trainer.ts';
export { predictDigits } from './test-evaluation.ts';
export { createPredictor, type Predictor, type PredictorOptions } from './predictor.ts';
export {
  isModelEnsemble, loadStoredModel, saveStoredModel, type ModelEnsemble, type StoredModel,
} from './model-ensemble.ts';
export { buildModelEnsemble, createModelPredictor, ensembleBudgetViolations, ensembleCost } from './ensemble-predictor.ts';
export { exportStoredModel } from './tfjs/ensemble-export.ts';
export { estimateCost, type JobCost } from './cost-estimate.ts';
export {
  assertWithinBudgets, checkBudgets, jobBudgets, BudgetError, DEFAULT_BUDGETS,
  type BudgetViolation, type JobBudgets,
} from './budget.ts';
export { engineInfo, type EngineInfo } from './backend.ts';
export { exportTfjs, toLayersModel, ExportError, type ExportedModel } from './tfjs/layers-export.ts';
export { tfjsInfo } from './tfjs/tfjs-handle.ts';
export type { Combine, EngineBackend } from './spec.ts';
export { COMBINE } from './spec.ts';
export { resolveEngineBackend, engineBackendReport, type EngineBackendSetting, type EngineBackendReport } from './engine-backend.ts';
export { firstConvFilters, NoConvLayerError, type ConvFilters } from './conv-filters.ts';
