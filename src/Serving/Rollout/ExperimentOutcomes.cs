using System.Collections.Concurrent;

namespace AllReduceNet.Serving;

/// <summary>
/// The answers given during experiments, by request id, waiting for their true labels: which variant answered, the
/// classes it gave and, in shadow mode, the candidate's classes too. A label then counts as right or wrong for the
/// variant(s). Bounded: the oldest <see cref="Capacity"/>-th answer is forgotten, so feedback must come back
/// within that many experiment requests.
/// </summary>
internal sealed class ExperimentOutcomes : IFeedbackObserver
{
    public const int Capacity = 200_000;

    private readonly ConcurrentDictionary<string, Outcome> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    /// <summary>One answered request of an experiment.</summary>
    internal sealed class Outcome(Experiment experiment, Variant answered, long[] classes, int classCount)
    {
        private long[]? _shadowClasses, _labels;
        private bool _shadowFailed;

        public Experiment Experiment { get; } = experiment;
        public Variant Answered { get; } = answered;
        public long[] Classes { get; } = classes;
        public int ClassCount { get; } = classCount;

        /// <summary>Records the labels for the answering variant, and for the shadow when its answer is in.</summary>
        public void Label(long[] labels)
        {
            lock (this)
            {
                if (_labels is not null) throw new ApiException(StatusCodes.Status409Conflict, "this request was labeled already; each request takes its labels once.");
                _labels = labels;
                Score(Answered, Classes, labels);
                if (_shadowClasses is not null) Score(Variant.Candidate, _shadowClasses, labels);
            }
        }

        /// <summary>The shadow candidate's answer arrived (or failed); scored now if the labels came first.</summary>
        public void ShadowAnswered(long[]? classes)
        {
            lock (this)
            {
                if (classes is null) { _shadowFailed = true; return; }
                _shadowClasses = classes;
                if (_labels is not null && !_shadowFailed) Score(Variant.Candidate, classes, _labels);
            }
        }

        private void Score(Variant variant, long[] classes, long[] labels)
        {
            for (int i = 0; i < labels.Length; i++) Experiment.RecordLabel(variant, classes[i] == labels[i]);
        }
    }

    /// <summary>Remembers an answer for its later labels.</summary>
    public Outcome Add(string requestId, Experiment experiment, Variant answered, long[] classes, int classCount)
    {
        var outcome = new Outcome(experiment, answered, classes, classCount);
        if (!_byId.TryAdd(requestId, outcome))
        {
            // A client reused an X-Request-Id: the newest answer is the one its label will be about.
            _byId[requestId] = outcome;
            return outcome;
        }
        _order.Enqueue(requestId);
        while (_byId.Count > Capacity && _order.TryDequeue(out string? oldest)) _byId.TryRemove(oldest, out _);
        return outcome;
    }

    /// <inheritdoc/>
    public bool Observe(string model, string requestId, IReadOnlyList<long> labels)
    {
        if (!_byId.TryGetValue(requestId, out var outcome) || outcome.Experiment.Model != model) return false;
        if (labels.Count != outcome.Classes.Length)
            throw ApiException.BadRequest($"request '{requestId}' had {outcome.Classes.Length} rows, but {labels.Count} labels were sent; send one label per row.");
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] < 0 || labels[i] >= outcome.ClassCount)
                throw ApiException.BadRequest($"label {labels[i]} (row {i}) is out of range: model '{model}' has classes 0 to {outcome.ClassCount - 1}.");
        outcome.Label(labels.ToArray());
        return true;
    }
}
