using System.Globalization;
using AllReduceNet.Training.Checkpoints;

namespace AllReduceNet.Serving;

/// <summary>
/// The model versions being served, out of those laid out on disk as DIR/NAME/VERSION/model.ckpt (a Train.dll
/// checkpoint) or DIR/NAME/VERSION/model.onnx (an ONNX model, run by ONNX Runtime). Versions are non-negative integers; the <see cref="ServingOptions.VersionPolicy"/> picks which are
/// served, and the highest served one is a model's default. Models can be (re)loaded and unloaded while serving: the
/// served set is an immutable snapshot swapped atomically, so a lookup sees either the old versions or the new ones;
/// a version taken out of service stops taking requests, finishes those queued, and only then is disposed.
/// </summary>
internal sealed class ModelRepository : IDisposable
{
    /// <summary>The file name of a checkpoint inside a version directory.</summary>
    public const string CheckpointName = "model.ckpt";

    /// <summary>The file name of an ONNX model inside a version directory.</summary>
    public const string OnnxName = "model.onnx";

    private const string ModelFiles = $"{CheckpointName} or {OnnxName}";

    private readonly string _directory;
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    // Load and unload run one at a time; lookups never take this lock.
    private readonly object _manage = new();
    private Dictionary<string, SortedList<long, Served>> _served;
    // Why a version on disk is not served, when it is for a reason other than the policy (unloaded, unreadable).
    private readonly Dictionary<(string Name, long Version), string> _reasons = new();
    private readonly List<Task> _retiring = new();
    private volatile bool _stopping;

    private sealed record Served(ServedModel Model, InferenceQueue Queue);

    /// <summary>Loads the versions the policy selects under the options' directory.</summary>
    /// <exception cref="ServingConfigurationException">The directory is missing, holds no model, or a selected version's model file is unreadable or unsuitable (or missing, or doubled).</exception>
    public ModelRepository(ServingOptions options, ServingMetrics metrics)
    {
        _directory = options.ModelsDirectory;
        _options = options;
        _metrics = metrics;
        if (!Directory.Exists(_directory))
            throw new ServingConfigurationException($"the model directory '{_directory}' does not exist.");
        var served = new Dictionary<string, SortedList<long, Served>>(StringComparer.Ordinal);
        try
        {
            foreach (string modelDirectory in Directory.EnumerateDirectories(_directory))
            {
                string name = Path.GetFileName(modelDirectory);
                var versions = new SortedList<long, Served>();
                foreach (long version in _options.VersionPolicy.Select(VersionsOnDisk(name)))
                {
                    try { versions.Add(version, Open(name, version)); }
                    catch (Exception e) when (e is CheckpointException or ModelFileException) { throw new ServingConfigurationException(e.Message); }
                }
                if (versions.Count > 0) served.Add(name, versions);
            }
        }
        catch
        {
            foreach (var versions in served.Values) foreach (var s in versions.Values) s.Model.Dispose();
            throw;
        }
        if (served.Count == 0)
            throw new ServingConfigurationException(
                $"the model directory '{_directory}' holds no NAME/VERSION/{ModelFiles} that --version-policy {_options.VersionPolicy} selects.");
        _served = served;
    }

    private Dictionary<string, SortedList<long, Served>> Snapshot => Volatile.Read(ref _served);

    /// <summary>The served model names, sorted.</summary>
    public IReadOnlyList<string> Names => Snapshot.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Every served version of every model.</summary>
    public IEnumerable<ServedModel> All => Snapshot.Values.SelectMany(versions => versions.Values.Select(s => s.Model));

    /// <summary>The model served by /predict without ?model=: the only one, or the first name in order.</summary>
    /// <exception cref="ApiException">404: every model was unloaded.</exception>
    public string DefaultName => Names.FirstOrDefault() ?? throw ApiException.NotFound("no model is loaded; load one with POST /v2/repository/models/{name}/load.");

    /// <summary>The served versions of a model, ascending.</summary>
    /// <exception cref="ApiException">404: no such model served.</exception>
    public IReadOnlyList<ServedModel> Versions(string name) => Entries(name).Select(s => s.Model).ToArray();

    private IList<Served> Entries(string name)
    {
        if (Snapshot.TryGetValue(name, out var versions)) return versions.Values;
        lock (_reasons)
        {
            string why = _reasons.Where(r => r.Key.Name == name).Select(r => r.Value).FirstOrDefault() is { } reason ? $" ({reason})" : "";
            throw ApiException.NotFound($"model '{name}' is not loaded{why}; served models: {string.Join(", ", Names)}.");
        }
    }

    /// <summary>A version of a model, or its default (highest) version when <paramref name="version"/> is null.</summary>
    /// <exception cref="ApiException">404: no such model or version served.</exception>
    public ServedModel Get(string name, string? version)
    {
        var versions = Versions(name);
        if (version is null) return versions[^1];
        return versions.FirstOrDefault(m => m.Version == version)
            ?? throw ApiException.NotFound($"model '{name}' has no version '{version}' loaded; its versions: {string.Join(", ", versions.Select(m => m.Version))}.");
    }

    /// <summary>
    /// Runs rows through a model version's batcher. When the version looked up is taken out of service before the
    /// request is queued (a load switched the default, or an unload), the lookup is repeated: a request for the default
    /// goes to the new default, one for a version no longer served gets its 404. No request in flight fails for it.
    /// </summary>
    /// <param name="name">The model.</param>
    /// <param name="version">The version, or null for the default.</param>
    /// <param name="prepare">Turns the request into rows for the version found (validating against its input size).</param>
    /// <returns>The version that answered and its result.</returns>
    /// <exception cref="ApiException">404 (not served), 4xx from <paramref name="prepare"/>, 503 (queue full or stopping).</exception>
    public async Task<(ServedModel Model, float[] Probabilities, long[] Classes)> InferAsync(
        string name, string? version, Func<ServedModel, (float[] Input, int Rows)> prepare)
    {
        while (true)
        {
            var served = Find(name, version);
            var (input, rows) = prepare(served.Model);
            var result = served.Queue.TryInferAsync(input, rows);
            if (result is not null)
            {
                var (probabilities, classes) = await result;
                return (served.Model, probabilities, classes);
            }
            if (_stopping) throw ApiException.Unavailable("the server is shutting down.");
        }
    }

    private Served Find(string name, string? version)
    {
        var model = Get(name, version);
        return Snapshot.TryGetValue(name, out var versions) && versions.Values.FirstOrDefault(s => s.Model == model) is { } served
            ? served
            // Swapped out between the two reads: look again in the new snapshot.
            : Find(name, version);
    }

    /// <summary>Every version on disk and every served one, with its state (READY or UNAVAILABLE) and why.</summary>
    public IReadOnlyList<(string Name, string Version, string State, string Reason)> Index()
    {
        var snapshot = Snapshot;
        var rows = new SortedSet<(string Name, long Version)>();
        if (Directory.Exists(_directory))
            foreach (string modelDirectory in Directory.EnumerateDirectories(_directory))
            {
                string name = Path.GetFileName(modelDirectory);
                foreach (long version in VersionsOnDisk(name)) rows.Add((name, version));
            }
        // A served version whose files were deleted since is still served, so still listed.
        foreach (var (name, versions) in snapshot) foreach (long version in versions.Keys) rows.Add((name, version));
        lock (_reasons)
            return rows.Select(row =>
            {
                string text = row.Version.ToString(CultureInfo.InvariantCulture);
                if (snapshot.TryGetValue(row.Name, out var versions) && versions.ContainsKey(row.Version)) return (row.Name, text, "READY", "");
                string reason = _reasons.TryGetValue(row, out var r) ? r
                    : snapshot.ContainsKey(row.Name) ? $"not selected by --version-policy {_options.VersionPolicy}"
                    : "not loaded";
                return (row.Name, text, "UNAVAILABLE", reason);
            }).ToArray();
    }

    /// <summary>
    /// Rescans a model's directory and serves the versions the policy selects: versions already served are kept as
    /// they are, new ones are read first, and only once all are ready does the snapshot switch (atomically); versions
    /// no longer selected then finish their queued requests and are disposed. A failed load changes nothing.
    /// </summary>
    /// <param name="name">The model's directory name.</param>
    /// <returns>The served versions after the load, ascending.</returns>
    /// <exception cref="ApiException">404: no such model directory or no version in it; 400: a version's model file is unreadable or unsuitable, or the version has both model files or neither.</exception>
    public IReadOnlyList<string> LoadModel(string name)
    {
        lock (_manage)
        {
            if (_stopping) throw ApiException.Unavailable("the server is shutting down.");
            if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or ".."
                || !Directory.Exists(Path.Combine(_directory, name)))
                throw ApiException.NotFound($"the model repository has no model directory '{name}'.");
            var selected = _options.VersionPolicy.Select(VersionsOnDisk(name));
            if (selected.Count == 0)
                throw ApiException.NotFound($"model directory '{name}' holds no VERSION/{ModelFiles} that --version-policy {_options.VersionPolicy} selects.");
            var current = Snapshot.TryGetValue(name, out var old) ? old : new SortedList<long, Served>();
            var next = new SortedList<long, Served>();
            var opened = new List<Served>();
            try
            {
                foreach (long version in selected)
                {
                    if (current.TryGetValue(version, out var kept)) { next.Add(version, kept); continue; }
                    var served = Open(name, version);
                    opened.Add(served);
                    next.Add(version, served);
                }
            }
            catch (Exception e) when (e is CheckpointException or ModelFileException)
            {
                foreach (var served in opened) Retire(served);
                throw ApiException.BadRequest($"model '{name}' was not loaded, its served versions are unchanged: {e.Message}");
            }
            Publish(name, next);
            lock (_reasons) foreach (var key in _reasons.Keys.Where(k => k.Name == name).ToArray()) _reasons.Remove(key);
            foreach (var (version, served) in current) if (!next.ContainsKey(version)) Retire(served);
            return next.Values.Select(s => s.Model.Version).ToArray();
        }
    }

    /// <summary>Stops serving every version of a model: new requests get 404, queued ones finish.</summary>
    /// <param name="name">The model.</param>
    /// <exception cref="ApiException">404: the model is not served.</exception>
    public void UnloadModel(string name)
    {
        lock (_manage)
        {
            var current = Snapshot.TryGetValue(name, out var versions) ? versions
                : throw ApiException.NotFound($"model '{name}' is not loaded; served models: {string.Join(", ", Names)}.");
            lock (_reasons) foreach (long version in current.Keys) _reasons[(name, version)] = "unloaded";
            Publish(name, null);
            foreach (var served in current.Values) Retire(served);
        }
    }

    /// <summary>Takes no more requests on any version; those queued still run. Called when the server begins to stop.</summary>
    public void Close()
    {
        _stopping = true;
        foreach (var versions in Snapshot.Values) foreach (var served in versions.Values) served.Queue.Close();
    }

    /// <summary>Completes when every queue, served or retiring, has drained.</summary>
    public Task DrainAsync()
    {
        lock (_retiring)
            return Task.WhenAll(Snapshot.Values.SelectMany(v => v.Values.Select(s => s.Queue.Worker)).Concat(_retiring));
    }

    private void Publish(string name, SortedList<long, Served>? versions)
    {
        var next = new Dictionary<string, SortedList<long, Served>>(Snapshot, StringComparer.Ordinal);
        if (versions is null) next.Remove(name);
        else next[name] = versions;
        Volatile.Write(ref _served, next);
    }

    private void Retire(Served served)
    {
        served.Queue.Close();
        // Disposed only after its queue drained: requests already queued still run on it.
        var done = served.Queue.Worker.ContinueWith(_ => served.Model.Dispose(), TaskScheduler.Default);
        lock (_retiring) { _retiring.RemoveAll(t => t.IsCompleted); _retiring.Add(done); }
    }

    private Served Open(string name, long version)
    {
        string versionDirectory = Path.Combine(_directory, name, version.ToString(CultureInfo.InvariantCulture));
        string checkpointPath = Path.Combine(versionDirectory, CheckpointName), onnxPath = Path.Combine(versionDirectory, OnnxName);
        bool hasCheckpoint = File.Exists(checkpointPath), hasOnnx = File.Exists(onnxPath);
        if (hasCheckpoint == hasOnnx)
            throw new ModelFileException(versionDirectory, hasCheckpoint
                ? $"the version directory holds both {CheckpointName} and {OnnxName}; keep the one to serve"
                : $"the version directory holds neither {CheckpointName} nor {OnnxName}");
        // The optional standardization travels with the model (Train.dll --export-model writes it).
        string preprocessPath = Path.Combine(versionDirectory, Preprocessing.FileName);
        var preprocess = File.Exists(preprocessPath) ? Preprocessing.Read(preprocessPath) : null;
        // Drift monitoring compares requests with it (docs/drift.md); a version without one is served, its drift unavailable.
        string referencePath = Path.Combine(versionDirectory, Training.Reference.ReferenceStatistics.FileName);
        var reference = File.Exists(referencePath) ? Training.Reference.ReferenceStatistics.Read(referencePath) : null;
        string text = version.ToString(CultureInfo.InvariantCulture);
        ServedModel model = hasCheckpoint
            ? new CheckpointModel(name, text, CheckpointFile.Read(checkpointPath), preprocess, _options.Device) { Reference = reference }
            : new OnnxModel(name, text, onnxPath, preprocess) { Reference = reference };
        return new Served(model, new InferenceQueue(model, _options, _metrics));
    }

    /// <summary>The numbered directories of a model: each is a version, which must hold one model file (anything not
    /// numbered is not a version and is ignored).</summary>
    private IEnumerable<long> VersionsOnDisk(string name)
    {
        string modelDirectory = Path.Combine(_directory, name);
        if (!Directory.Exists(modelDirectory)) yield break;
        foreach (string versionDirectory in Directory.EnumerateDirectories(modelDirectory))
            if (long.TryParse(Path.GetFileName(versionDirectory), NumberStyles.None, CultureInfo.InvariantCulture, out long version))
                yield return version;
    }

    public void Dispose()
    {
        Close();
        foreach (var versions in Snapshot.Values) foreach (var served in versions.Values) served.Model.Dispose();
    }
}
