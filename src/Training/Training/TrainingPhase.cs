namespace AllReduceNet.Training.Training;

/// <summary>The parts of a training step that <see cref="PhaseTimings"/> keeps apart (--log-json "phase_seconds").</summary>
internal enum TrainingPhase
{
    /// <summary>Gathering the batch's samples and labels and copying them to the backend.</summary>
    DataLoading,
    /// <summary>The layers' forward pass and the loss head.</summary>
    Forward,
    /// <summary>The backward pass, including copying each bucket out and starting its AllReduce, but not time blocked on one.</summary>
    Backward,
    /// <summary>Time blocked on the gradient AllReduce: what the backward pass did not hide (all of it with --no-overlap;
    /// zero: its reduce-scatter and all-gather).</summary>
    AllReduceWait,
    /// <summary>The optimizer step.</summary>
    Optimizer,
}
