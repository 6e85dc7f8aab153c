namespace IpsecExporter.Diagnosis;

public enum ReportFormat
{
    Text,
    Markdown,
    Json,
}
