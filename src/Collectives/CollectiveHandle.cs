namespace AllReduceNet.Collectives;

/// <summary>
/// A collective started with one of the <c>Start...</c> methods, like torch's Work or an MPI request for MPI_Iallreduce.
/// The buffer belongs to the collective until <see cref="Wait()"/> returns (or <see cref="IsCompleted"/> is true).
/// </summary>
public sealed class CollectiveHandle
{
    /// <summary>
    /// How long a timed-out wait still gives the collective to end with its own error. The collective's waits have
    /// deadlines of their own, and their error names the peer that did not answer; it arrives a little after the same
    /// timeout (the operation may have started later than this wait, and withdrawing its MPI requests takes up to 2 s).
    /// Without this grace the caller got "did not finish" with no peer in it.
    /// </summary>
    internal static readonly TimeSpan FailureReportGrace = TimeSpan.FromSeconds(5);

    private readonly ManualResetEventSlim _done = new(false);
    private readonly TimeSpan _defaultTimeout;
    private Exception? _error;

    internal CollectiveHandle(string description, TimeSpan defaultTimeout)
    {
        Description = description;
        _defaultTimeout = defaultTimeout;
    }

    /// <summary>What the handle stands for, e.g. "rank 0: AllReduce of 1024 x float with Sum".</summary>
    public string Description { get; }

    /// <summary>True once the collective finished, successfully or not.</summary>
    public bool IsCompleted => _done.IsSet;

    /// <summary>Waits for the collective, for at most the communicator's default timeout (plus its queue wait).</summary>
    /// <exception cref="CollectiveException">The collective failed; the inner exception (if any) is the cause.</exception>
    public void Wait() => Wait(_defaultTimeout);

    /// <summary>
    /// Waits for the collective, for at most <paramref name="timeout"/>; when that passes, for at most a few seconds
    /// more (<see cref="FailureReportGrace"/>) in case the collective is about to fail with its own, more telling error.
    /// </summary>
    /// <exception cref="CommunicationTimeoutException">It did not finish in time (when the collective itself timed
    /// out, its error, naming the peer it waited for, is the message and the inner exception).</exception>
    /// <exception cref="CollectiveException">The collective failed; the exception is the one it raised.</exception>
    public void Wait(TimeSpan timeout)
    {
        ThrowHelper.CheckTimeout(timeout, nameof(timeout));
        if (!_done.Wait(timeout) && !_done.Wait(FailureReportGrace))
            throw new CommunicationTimeoutException($"{Description} did not finish within {timeout}.");
        if (_error is CommunicationTimeoutException timedOut)
            throw new CommunicationTimeoutException($"{Description} failed: {timedOut.Message}", timedOut);
        if (_error is not null) throw _error is CollectiveException
            ? new CollectiveException($"{Description} failed: {_error.Message}", _error)
            : new CollectiveException($"{Description} failed: {_error.GetType().Name}: {_error.Message}", _error);
    }

    internal void Complete(Exception? error)
    {
        _error = error;
        _done.Set();
    }
}
