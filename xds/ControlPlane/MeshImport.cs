namespace Herald.Xds.ControlPlane;

/// <summary>
/// Where a service's instances are imported from: DNS A and AAAA records of <see cref="Name"/>
/// (on the service's port), or its SRV records when <see cref="Srv"/> (each target's addresses on
/// the record's port). Re-resolved when the records' TTL runs out.
/// </summary>
public sealed record MeshImport(string Name, bool Srv)
{
    /// <summary>The source name imported instances carry, for example <c>dns-srv:_http._tcp.web.example</c>.</summary>
    public string Source => (Srv ? "dns-srv:" : "dns:") + Name;
}
