/**
 * A Spanish detector for short, technical messages that must not flag English ones.
 *
 * Signals: `ñ`, `¿` and `¡` (never in English); vowels with an acute accent together with at
 * least one Spanish word; and words that are Spanish and not English (no `a`, `no`, `general`,
 * `final`, `once`…). Two distinct Spanish words are enough; one is enough when it is long and
 * unmistakable (`encontrado`, `contraseña`) or the message is one or two words long.
 */

/** Function words and common message vocabulary that do not exist as English words. */
const SPANISH_WORDS = new Set(
  `
  el la los las del al un una unos unas de que en con para por es  fue ser está están esta este
  estos estas esto eso ese esa se su sus   les ya muy más  pero como cuando donde desde hasta
  sobre entre sin también porque aunque mientras  todos toda todas  algo alguno ninguno
  ningún ninguna otro otra otros mismo misma cada  había puede pudo pueden debe deben tiene
  tienen hace hacer sido estar tener haber fueron será serán sería
  usuario usuarios cliente clientes contraseña correo electrónico archivo archivos datos 
  conexión servidor solicitud petición respuesta mensaje mensajes campo campos  valores
  nombre fecha número clave llave permiso permisos acceso sesión cuenta cuentas pedido pedidos
  pago pagos producto productos tarea tareas trabajo trabajos  proceso procesos generación
  generaciones modelo proveedor registro registros recurso recursos configuración 
  entorno puerto tiempo espera intento intentos límite límites dirección ruta página
  crear creado creada actualizar actualizado actualizada eliminar eliminado eliminada borrar
  borrado guardar guardado obtener obtenido cargar cargado enviar enviado recibir recibido
  conectar conectado procesar procesado validar validado leer escribir iniciar iniciado detener
  generar generado cancelar cancelado encolar ejecutar ejecutado autenticar autorizar
  encontrado encontrada encontrados encontradas encontró existe existen inválido inválida
  inválidos inválidas válido válida requerido requerida obligatorio obligatoria autorizado
  autorizada denegado denegada falló fallo fallido fallida exitoso exitosa correctamente
  demasiadas demasiados agotado agotada expirado expirada vacío vacía nuevo nueva nuevamente
  intente inténtelo  
  `
    .split(/\s+/)
    .filter(Boolean),
);

/** Spanish words long and specific enough to decide alone. */
const STRONG_WORDS = new Set(
  `encontrado encontrada encontrados encontradas encontró contraseña usuario usuarios solicitud
  petición conexión inválido inválida válido válida requerido requerida obligatorio obligatoria
  autorizado autorizada denegado denegada falló fallido fallida actualizar eliminar borrar
  guardar obtener procesar conectar configuración generación demasiadas agotado expirado
  correctamente inténtelo intente`
    .split(/\s+/)
    .filter(Boolean),
);

const WORD = /[\p{L}]+/gu;
const ACCENTED = /[áéíóúü]/i;
const UNMISTAKABLE = /[ñ¿¡]/i;

export interface SpanishVerdict {
  spanish: boolean;
  words: string[];
}

/** Whether `text` (a message, placeholders already removed) reads as Spanish. */
export function detectSpanish(text: string): SpanishVerdict {
  const tokens = (text.match(WORD) ?? []).map((token) => token.toLowerCase());
  const spanishWords = [...new Set(tokens.filter((token) => SPANISH_WORDS.has(token)))];
  if (tokens.length === 0) return { spanish: false, words: [] };
  if (UNMISTAKABLE.test(text)) return { spanish: true, words: spanishWords };
  const strong = spanishWords.some((word) => STRONG_WORDS.has(word));
  const accented = tokens.some((token) => ACCENTED.test(token));
  const spanish =
    spanishWords.length >= 2 ||
    strong ||
    (spanishWords.length === 1 && (accented || tokens.length <= 2));
  return { spanish, words: spanishWords };
}
