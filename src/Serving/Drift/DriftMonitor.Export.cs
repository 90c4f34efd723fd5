namespace AllReduceNet.Serving.Drift;

internal sealed partial class DriftMonitor
{
    /// <summary>The labeled rows still stored, oldest first: each request's rows as sent and the true labels feedback gave.</summary>
    /// <returns>(answered at, input rows, labels) per labeled request.</returns>
    public List<(long Order, float[] Input, int[] Labels)> LabeledRequests()
    {
        var labeled = new List<(long, float[], int[])>();
        lock (_gate)
        {
            long order = _rowsSeen - _storedRows;
            foreach (var request in _requests)
            {
                if (request.Labels is { } labels) labeled.Add((order, request.Input, labels));
                order += request.Rows;
            }
        }
        return labeled;
    }
}
