import { Anchor, Code, Table, Text } from '@mantine/core';
import { type AttachmentView, accessApi } from '../access-api.ts';
import { type MessageKey, useI18n } from '../i18n.tsx';

/** Bytes as B / KB / MB, one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** An application's uploaded files with size and SHA-256, each a download link. */
export function AttachmentTable({
  applicationId,
  attachments,
}: {
  applicationId: string;
  attachments: AttachmentView[];
}) {
  const { t, language } = useI18n();
  if (attachments.length === 0)
    return (
      <Text size="sm" c="dimmed">
        {t('appNoAttachments')}
      </Text>
    );
  return (
    <Table>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t('appFile')}</Table.Th>
          <Table.Th>{t('appFileKind')}</Table.Th>
          <Table.Th>{t('appFileSize')}</Table.Th>
          <Table.Th>SHA-256</Table.Th>
          <Table.Th>{t('appUploadedAt')}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {attachments.map((a) => (
          <Table.Tr key={a.id} data-testid="attachment-row">
            <Table.Td>
              <Anchor href={accessApi.attachmentUrl(applicationId, a.id)}>{a.fileName}</Anchor>
            </Table.Td>
            <Table.Td>{t(`attachment_${a.kind}` as MessageKey)}</Table.Td>
            <Table.Td data-testid="attachment-size">{formatBytes(a.size)}</Table.Td>
            <Table.Td>
              <Code data-testid="attachment-sha256" style={{ wordBreak: 'break-all' }}>
                {a.sha256}
              </Code>
            </Table.Td>
            <Table.Td>{new Date(a.uploadedAt).toLocaleString(language)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
