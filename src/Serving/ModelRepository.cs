using System.Globalization;
using AllReduceNet.Training.Checkpoints;

namespace AllReduceNet.Serving;

/// <summary>
/// Every model version found on disk at startup, laid out as DIR/NAME/VERSION/model.ckpt (a Train.dll checkpoint).
/// Versions are non-negative integers; the highest one of a model is its default.
/// </summary>
internal sealed class ModelRepository : IDisposable
{
    /// <summary>The file name of a checkpoint inside a version directory.</summary>
    public const string CheckpointName = "model.ckpt";

    private readonly Dictionary<string, SortedList<long, ServedModel>> _models;

    private ModelRepository(Dictionary<string, SortedList<long, ServedModel>> models) => _models = models;

    /// <summary>The model names, sorted.</summary>
    public IReadOnlyList<string> Names => _models.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Every version of every model.</summary>
    public IEnumerable<ServedModel> All => _models.Values.SelectMany(versions => versions.Values);

    /// <summary>The model served by /predict without ?model=: the only one, or the first name in order.</summary>
    public string DefaultName => Names[0];

    /// <summary>Loads every version under <paramref name="directory"/>.</summary>
    /// <exception cref="ServingConfigurationException">The directory is missing, holds no model, or a checkpoint is unreadable.</exception>
    public static ModelRepository Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new ServingConfigurationException($"the model directory '{directory}' does not exist.");
        var models = new Dictionary<string, SortedList<long, ServedModel>>(StringComparer.Ordinal);
        try
        {
            foreach (string modelDirectory in Directory.EnumerateDirectories(directory))
            {
                var versions = new SortedList<long, ServedModel>();
                foreach (string versionDirectory in Directory.EnumerateDirectories(modelDirectory))
                {
                    string path = Path.Combine(versionDirectory, CheckpointName);
                    // Directories that are not numbered versions holding a checkpoint are not models: skip them.
                    if (!long.TryParse(Path.GetFileName(versionDirectory), NumberStyles.None, CultureInfo.InvariantCulture, out long version)
                        || !File.Exists(path)) continue;
                    Checkpoint checkpoint;
                    try { checkpoint = CheckpointFile.Read(path); }
                    catch (CheckpointException e) { throw new ServingConfigurationException(e.Message); }
                    versions.Add(version, new ServedModel(Path.GetFileName(modelDirectory), version.ToString(CultureInfo.InvariantCulture), checkpoint));
                }
                if (versions.Count > 0) models.Add(Path.GetFileName(modelDirectory), versions);
            }
        }
        catch
        {
            foreach (var versions in models.Values) foreach (var model in versions.Values) model.Dispose();
            throw;
        }
        if (models.Count == 0)
            throw new ServingConfigurationException($"the model directory '{directory}' holds no NAME/VERSION/{CheckpointName}.");
        return new ModelRepository(models);
    }

    /// <summary>The versions of a model, ascending.</summary>
    /// <exception cref="ApiException">404: no such model.</exception>
    public IReadOnlyList<ServedModel> Versions(string name) =>
        _models.TryGetValue(name, out var versions) ? versions.Values.ToArray() : throw ApiException.NotFound($"unknown model '{name}'; served models: {string.Join(", ", Names)}.");

    /// <summary>A version of a model, or its default (highest) version when <paramref name="version"/> is null.</summary>
    /// <exception cref="ApiException">404: no such model or version.</exception>
    public ServedModel Get(string name, string? version)
    {
        var versions = Versions(name);
        if (version is null) return versions[^1];
        return versions.FirstOrDefault(m => m.Version == version)
            ?? throw ApiException.NotFound($"model '{name}' has no version '{version}'; its versions: {string.Join(", ", versions.Select(m => m.Version))}.");
    }

    public void Dispose()
    {
        foreach (var versions in _models.Values) foreach (var model in versions.Values) model.Dispose();
    }
}
