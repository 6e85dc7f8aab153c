namespace IpsecExporter.Diagnosis;

/// <summary>A best-practice verdict as <c>/api/tunnels</c> and the status page show it, with the reason a person can act on.</summary>
public sealed record PracticeResult(string Practice, bool? Ok, string Reason);
