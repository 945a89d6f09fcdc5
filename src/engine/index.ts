// The engine's public API: everything outside src/engine imports from here only.
export { SpecError, type Experiment, type ExperimentInput, type LayerSpec, type SpecIssue } from './spec.ts';
export { listPresets, resolveExperiment, validateExperiment, type PresetInfo } from './presets.ts';
export { planNetwork, type NetworkPlan, type NativeNetworkDesc } from './network-plan.ts';
export { loadMnist, MnistError, type Mnist, type LoadMnistOptions } from './mnist.ts';
export { splitData, type DataSplit } from './split.ts';
