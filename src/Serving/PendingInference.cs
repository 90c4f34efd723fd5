namespace AllReduceNet.Serving;

/// <summary>One request's rows waiting in an <see cref="InferenceQueue"/>, and the promise of its own rows of the result.</summary>
internal sealed class PendingInference
{
    private readonly TaskCompletionSource<(float[] Probabilities, long[] Classes)> _result =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="input">rows x the model's input size, row-major.</param>
    /// <param name="rows">Number of rows, at least 1.</param>
    public PendingInference(float[] input, int rows)
    {
        Input = input;
        Rows = rows;
    }

    public float[] Input { get; }
    public int Rows { get; }

    /// <summary>When the request was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks): its batch's delay counts from here.</summary>
    public long QueuedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Completes when the request's rows have been through the forward pass.</summary>
    public Task<(float[] Probabilities, long[] Classes)> Result => _result.Task;

    public void Complete(float[] probabilities, long[] classes) => _result.TrySetResult((probabilities, classes));

    public void Fail(Exception error) => _result.TrySetException(error);
}
