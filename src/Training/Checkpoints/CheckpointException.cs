namespace AllReduceNet.Training.Checkpoints;

/// <summary>A checkpoint file is missing, damaged, truncated, of an unknown version, or does not fit the model.</summary>
public sealed class CheckpointException : TrainingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="problem">What is wrong with it.</param>
    public CheckpointException(string path, string problem)
        : base($"checkpoint '{path}' cannot be used: {problem}.") => FilePath = path;

    /// <summary>The checkpoint file that was refused.</summary>
    public string FilePath { get; }
}
