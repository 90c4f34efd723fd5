using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies;

/// <summary>What every strategy works with: the world, the settings, this rank's backend, the data, the clock of communication.</summary>
internal sealed record StrategyContext(Communicator World, TrainSettings Settings, IKernelBackend Backend, TrainTestData Data, CommunicationClock Clock)
{
    public ParameterLayout Layout { get; } = new(Settings.Layers);
    public CollectiveOptions Collective { get; } = new() { Algorithm = Settings.Algorithm };
    public LearningRateSchedule Schedule { get; } = new(Settings.Optimizer.LearningRate, Settings.CosineSchedule, Settings.Epochs);
    /// <summary>Where this rank's epoch goes, per phase of the step (reset by the trainer each epoch).</summary>
    public PhaseTimings Phases { get; } = new();
}
