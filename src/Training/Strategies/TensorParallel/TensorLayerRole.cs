namespace AllReduceNet.Training.Strategies.TensorParallel;

/// <summary>How one dense layer is spread over the ranks under --strategy tensor (Megatron-LM's MLP split).</summary>
internal enum TensorLayerRole
{
    /// <summary>Split by output columns: each rank holds W[:, its columns] and its part of the bias, reads the full
    /// input and produces its columns of the output; its backward needs the ranks' input gradients summed (unless it
    /// is the first layer, whose input gradient nobody needs).</summary>
    Column,

    /// <summary>Split by input rows, after a column layer: each rank multiplies its columns of the input by its rows of
    /// W, the partial outputs are summed by one AllReduce, then the (replicated) bias and ReLU follow. Its backward
    /// needs no communication: each rank's input gradient is exactly the columns it produced.</summary>
    Row,

    /// <summary>The model's last layer when the layer count is odd: every rank holds all of it and computes the same
    /// values from the same (all-reduced) input, so the copies stay bitwise equal without communication.</summary>
    Replicated,
}
