using System.Globalization;
using AllReduceNet.Collectives.Diagnostics;

namespace AllReduceNet.Collectives;

public sealed partial class Communicator
{
    /// <summary>The timeline's span of one collective call (an empty value when the timeline is off).</summary>
    internal TimelineSpan BeginTimeline(in CollectiveCall call)
    {
        if (!Timeline.IsEnabled) return default;
        int pid = Timeline.PidOf(this);
        Timeline.EnterCollective(pid, call.CallNumber);
        return new TimelineSpan(pid, call.Operation, "collective", string.Create(CultureInfo.InvariantCulture,
            $"\"count\":{call.Count},\"type\":\"{ElementTypes.Name(call.Type)}\",\"ranks\":{call.Size},\"call\":{call.CallNumber}"));
    }
}
