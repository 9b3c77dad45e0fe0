import { alt, type Rule, span } from './rule.js';

/**
 * Override and prompt-extraction phrases in the languages most seen in public injection corpora.
 * As in English, each rule needs a verb and a target together. RE2's `\b` is ASCII-only, so rules
 * for non-Latin scripts bound their gaps with `span()` instead of word boundaries.
 */
export const multilingualRules: Rule[] = [
  {
    id: 'multilingual.es.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'Spanish: ignore previous instructions',
    pattern: `\\b${alt('ignora', 'ignore', 'ignorar', 'ignoren', 'olvida', 'olvide', 'olvidar', 'olviden', 'omite', 'omita', 'descarta', 'descarte', 'haz caso omiso (?:a|de)', 'no (?:sigas|sigan|obedezcas|hagas caso a)')}\\s+${span(25)}${alt('instrucciones', 'indicaciones', 'órdenes', 'ordenes', 'reglas', 'directrices', 'instrucción', 'normas')}\\s+${alt('anteriores', 'previas', 'originales', 'de arriba', 'iniciales', 'del sistema', 'que (?:te|le) (?:dieron|han dado)')}`,
  },
  {
    id: 'multilingual.es.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'Spanish: reveal the system prompt',
    pattern: `\\b${alt('revela', 'revele', 'muestra', 'muestre', 'muéstrame', 'dime', 'imprime', 'repite', 'repita', 'escribe', 'dame', 'enséñame', 'comparte')}\\s+${span(20)}${alt('prompt', 'instrucciones', 'indicaciones', 'mensaje')}\\s+${alt('del sistema', 'de sistema', 'iniciales', 'originales', 'ocultas', 'secretas', 'internas')}`,
  },
  {
    id: 'multilingual.fr.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'French: ignore previous instructions',
    pattern: `\\b${alt('ignore[zr]?', 'oublie[zr]?', 'ne tiens pas compte', 'ne tenez pas compte', 'fais abstraction', 'faites abstraction', 'néglige[zr]?', 'omets', 'omettez', 'ne suis pas', 'ne suivez pas', 'abandonne[zr]?')}\\s+${span(25)}${alt('instructions', 'consignes', 'règles', 'directives', 'indications', 'ordres')}\\s+${alt('précédentes', 'precedentes', 'antérieures', 'anterieures', 'ci-dessus', 'initiales', "d'origine", 'originales', 'du système', 'du systeme', 'données', 'reçues')}`,
  },
  {
    id: 'multilingual.fr.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'French: reveal the system prompt',
    pattern: `\\b${alt('révèle', 'revele', 'révélez', 'montre', 'montrez', 'affiche', 'affichez', 'répète', 'répétez', 'donne-moi', 'donnez-moi', 'dis-moi', 'dites-moi', 'écris', 'écrivez', 'imprime')}\\s+${span(20)}${alt('prompt', 'invite', 'instructions', 'consignes', 'message')}\\s+${alt('système', 'systeme', 'initiales?', "d'origine", 'cachées?', 'secrètes?', 'internes?')}`,
  },
  {
    id: 'multilingual.de.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'German: ignore previous instructions',
    pattern: `\\b${alt('ignoriere', 'ignorieren sie', 'ignoriert', 'vergiss', 'vergessen sie', 'vergesst', 'missachte', 'missachten sie', 'übergehe', 'befolge nicht', 'befolgen sie nicht', 'verwirf', 'verwerfen sie')}\\s+${span(20)}${alt('vorherigen', 'bisherigen', 'vorigen', 'obigen', 'vorangegangenen', 'ursprünglichen', 'früheren', 'alten', 'vorhergehenden', 'gegebenen', 'alle')}\\s+${span(12)}${alt('anweisungen', 'instruktionen', 'befehle', 'regeln', 'vorgaben', 'anordnungen', 'richtlinien', 'aufgaben')}`,
  },
  {
    id: 'multilingual.de.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'German: reveal the system prompt',
    pattern: `\\b${alt('zeige?', 'zeigen sie', 'gib', 'geben sie', 'verrate', 'verraten sie', 'wiederhole', 'wiederholen sie', 'nenne', 'nennen sie', 'schreibe?', 'drucke', 'gib mir', 'sag mir')}\\s+${span(25)}${alt('system-?prompt', 'systemanweisungen', 'systemnachricht', 'anfangsanweisungen', 'ursprünglichen anweisungen', 'versteckten anweisungen', 'geheimen anweisungen', 'deine anweisungen', 'ihre anweisungen', 'initialen anweisungen')}`,
  },
  {
    id: 'multilingual.pt.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'Portuguese: ignore previous instructions',
    pattern: `\\b${alt('ignore', 'ignora', 'ignorar', 'ignorem', 'esqueça', 'esqueca', 'esquece', 'desconsidere', 'desconsidera', 'não siga', 'nao siga', 'descarte', 'despreze')}\\s+${span(25)}${alt('instruções', 'instrucoes', 'instrução', 'ordens', 'regras', 'diretrizes', 'orientações', 'orientacoes', 'comandos')}\\s+${alt('anteriores', 'prévias', 'previas', 'acima', 'originais', 'iniciais', 'do sistema', 'passadas')}`,
  },
  {
    id: 'multilingual.pt.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'Portuguese: reveal the system prompt',
    pattern: `\\b${alt('revele', 'revela', 'mostre', 'mostra', 'repita', 'repete', 'diga', 'diz', 'me diga', 'me mostre', 'imprima', 'escreva', 'compartilhe')}\\s+${span(20)}${alt('prompt', 'instruções', 'instrucoes', 'mensagem')}\\s+${alt('do sistema', 'de sistema', 'iniciais', 'originais', 'ocultas', 'secretas', 'internas')}`,
  },
  {
    id: 'multilingual.it.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'Italian: ignore previous instructions',
    pattern: `\\b${alt('ignora', 'ignori', 'ignorate', 'ignorare', 'dimentica', 'dimentichi', 'dimenticate', 'trascura', 'non seguire', 'non segua', 'tralascia', 'scarta')}\\s+${span(25)}${alt('istruzioni', 'indicazioni', 'regole', 'direttive', 'ordini', 'comandi')}\\s+${alt('precedenti', 'sopra', 'originali', 'iniziali', 'di sistema', 'del sistema', 'ricevute', 'date')}`,
  },
  {
    id: 'multilingual.it.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'Italian: reveal the system prompt',
    pattern: `\\b${alt('rivela', 'riveli', 'mostra', 'mostrami', 'mostri', 'ripeti', 'ripeta', 'dimmi', 'mi dica', 'stampa', 'scrivi', 'condividi')}\\s+${span(20)}${alt('prompt', 'istruzioni', 'messaggio')}\\s+${alt('di sistema', 'del sistema', 'iniziali', 'originali', 'nascoste', 'segrete', 'interne')}`,
  },
  {
    id: 'multilingual.zh.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'Chinese: ignore previous instructions',
    pattern: `${alt('忽略', '忽视', '无视', '無視', '忘记', '忘記', '忘掉', '不要理会', '不要理會', '不要遵守', '不要遵循', '放弃', '放棄', '跳过', '跳過', '违背', '違背', '抛开', '拋開')}${span(10)}${alt('之前', '以前', '先前', '上面', '上述', '前面', '所有', '原来', '原來', '原有', '此前', '系统', '系統', '全部')}${span(8)}${alt('指令', '指示', '说明', '說明', '规则', '規則', '提示', '命令', '设定', '設定', '要求', '约束', '約束')}`,
  },
  {
    id: 'multilingual.zh.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'Chinese: reveal the system prompt',
    pattern: `${alt('显示', '顯示', '输出', '輸出', '打印', '告诉我', '告訴我', '泄露', '洩露', '重复', '重複', '透露', '展示', '给我看', '給我看', '公开', '公開', '写出', '寫出')}${span(12)}${alt('系统提示', '系統提示', '系统指令', '系統指令', '提示词', '提示詞', '初始指令', '原始指令', '隐藏指令', '隱藏指令', '系统消息', '系統消息', '你的指令', '你的提示')}`,
  },
  {
    id: 'multilingual.ja.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'Japanese: ignore previous instructions',
    pattern: `${alt('以前', '前', '上記', 'これまで', '今まで', '全て', 'すべて', '先ほど', '最初', '元', 'システム')}${alt('の', 'での')}${span(8)}${alt('指示', '命令', 'ルール', '指令', 'プロンプト', '設定', '制約', '規則')}${span(6)}${alt('無視', '忘れ', '従わな', '破棄', 'リセット')}`,
  },
  {
    id: 'multilingual.ja.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'Japanese: reveal the system prompt',
    pattern: `${alt('システムプロンプト', '初期指示', '最初の指示', '元の指示', '隠された指示', 'あなたの指示', 'システムメッセージ', '初期プロンプト')}${span(10)}${alt('表示', '教え', '出力', '見せ', '開示', '繰り返', '書き出', '公開', '明か')}`,
  },
  {
    id: 'multilingual.ru.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'Russian: ignore previous instructions',
    pattern: `${alt('игнорируй', 'игнорируйте', 'игнорировать', 'забудь', 'забудьте', 'не обращай внимания на', 'не обращайте внимания на', 'пропусти', 'отбрось', 'отбросьте', 'не следуй', 'не выполняй', 'проигнорируй', 'проигнорируйте')}${span(30)}${alt('предыдущие', 'прошлые', 'все', 'вышеуказанные', 'прежние', 'исходные', 'изначальные', 'старые', 'системные', 'данные ранее', 'вышеприведенные')}${span(12)}${alt('инструкции', 'указания', 'команды', 'правила', 'инструкций', 'указаний', 'ограничения', 'директивы')}`,
  },
  {
    id: 'multilingual.ru.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'Russian: reveal the system prompt',
    pattern: `${alt('покажи', 'покажите', 'выведи', 'выведите', 'раскрой', 'раскройте', 'повтори', 'повторите', 'скажи', 'скажите', 'напиши', 'напишите', 'распечатай', 'сообщи')}${span(25)}${alt('системный промпт', 'системный запрос', 'системные инструкции', 'свои инструкции', 'твои инструкции', 'исходные инструкции', 'первоначальные инструкции', 'скрытые инструкции', 'системное сообщение', 'свой промпт', 'твой промпт')}`,
  },
  {
    id: 'multilingual.ko.ignore_previous',
    category: 'multilingual',
    weight: 5,
    message: 'Korean: ignore previous instructions',
    pattern: `${alt('이전', '앞의', '위의', '모든', '기존', '이전의', '원래', '시스템', '지금까지의', '앞서')}${span(10)}${alt('지시', '지침', '명령', '규칙', '지시사항', '프롬프트', '설정', '안내')}${span(10)}${alt('무시', '잊어', '잊고', '따르지 ?마', '따르지 ?말')}`,
  },
  {
    id: 'multilingual.ko.reveal_prompt',
    category: 'multilingual',
    weight: 4.5,
    message: 'Korean: reveal the system prompt',
    pattern: `${alt('시스템 ?프롬프트', '초기 ?지시', '원래 ?지시', '숨겨진 ?지시', '당신의 ?지시', '시스템 ?메시지', '너의 ?지시')}${span(12)}${alt('보여', '알려', '출력', '공개', '반복', '말해', '적어')}`,
  },
];
