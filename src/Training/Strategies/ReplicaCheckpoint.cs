using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// The checkpoint of a strategy in which every rank holds the same full model and optimizer state (ddp and its
/// reproducible variant): any rank can write it from its own copy, with no communication.
/// </summary>
internal static class ReplicaCheckpoint
{
    public static Checkpoint Gather(StrategyContext context, ModelReplica replica, Optimizer optimizer, int completedEpochs)
    {
        int count = context.Layout.Count;
        var slots = new float[context.Settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++) { slots[s] = new float[count]; optimizer.ReadSlot(s, slots[s]); }
        var parameters = new float[count];
        replica.Model.ReadParameters(parameters);
        var settings = context.Settings;
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, optimizer.StepCount,
            parameters, slots);
    }
}
