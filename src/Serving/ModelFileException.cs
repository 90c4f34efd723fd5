namespace AllReduceNet.Serving;

/// <summary>A model version's files cannot be served: an unreadable or unsuitable model.onnx, or a version directory
/// holding both model files or neither. Startup fails on it; a repository load answers 400.</summary>
internal sealed class ModelFileException(string path, string problem) : Exception($"'{path}' cannot be served: {problem}.")
{
    /// <summary>The file or version directory that was refused.</summary>
    public string FilePath { get; } = path;
}
