using System.Net;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>One network namespace of a <see cref="PodNetwork"/> and its address on the hub's bridge.</summary>
internal sealed record Pod(string Name, string Namespace, IPAddress Address)
{
    public override string ToString() => $"{Name} ({Namespace}, {Address})";
}
