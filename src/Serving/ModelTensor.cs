namespace AllReduceNet.Serving;

/// <summary>A tensor as the model metadata endpoint reports it (Open Inference Protocol v2's tensor metadata).</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Datatype">The protocol's datatype name: FP32, INT64, ...</param>
/// <param name="Shape">Its dimensions; -1 for a variable one (the batch).</param>
internal sealed record ModelTensor(string Name, string Datatype, long[] Shape);
